package io.hybridbridge.emulator.snapshot;

/** One segment register (or descriptor-table register) as QEMU records it: selector, limit, flags, base. */
public record SegmentRegister(int selector, int limit, int flags, long base) {
  public static final SegmentRegister NONE = new SegmentRegister(0, 0, 0, 0);

  /** Requested privilege level: the low two bits of the selector (3 = user mode for CS). */
  public int rpl() {
    return selector & 3;
  }
}
