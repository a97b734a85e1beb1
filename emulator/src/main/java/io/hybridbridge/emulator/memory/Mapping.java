package io.hybridbridge.emulator.memory;

/**
 * One translation found by a page-table walk: the whole page (4 KiB, 2 MiB or 1 GiB) containing the address,
 * with the effective permissions of all levels (writable and user only if every level allows; executable
 * unless some level sets NX).
 */
public record Mapping(long virtualBase, long physicalBase, long size, boolean writable, boolean user,
    boolean executable) {
  public long toPhysical(long virtualAddress) {
    return physicalBase + (virtualAddress - virtualBase);
  }

  public boolean contains(long virtualAddress) {
    return Long.compareUnsigned(virtualAddress - virtualBase, size) < 0;
  }
}
