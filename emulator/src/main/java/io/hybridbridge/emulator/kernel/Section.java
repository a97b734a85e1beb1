package io.hybridbridge.emulator.kernel;

/** A KASLR-free address range {@code [start, end)} of the kernel image (or per-CPU offsets for the per-CPU area). */
public record Section(String name, long start, long end) {
  public boolean contains(long address) {
    return Long.compareUnsigned(address - start, end - start) < 0;
  }

  public long size() {
    return end - start;
  }

  @Override
  public String toString() {
    return String.format("%s %#x-%#x", name, start, end);
  }
}
