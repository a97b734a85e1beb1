package io.hybridbridge.emulator.decode;

/** What an instruction does with a memory operand: the kind reported to access hooks and routers. */
public enum MemoryRole {
  READ,
  WRITE,
  /** Read then written back by the same instruction (read-modify-write; both go to the same address space). */
  READ_WRITE,
  /** Only the address is used (lea, nop, prefetch, clflush, invlpg): no access is made. */
  ADDRESS_ONLY;

  public boolean reads() {
    return this == READ || this == READ_WRITE;
  }

  public boolean writes() {
    return this == WRITE || this == READ_WRITE;
  }
}
