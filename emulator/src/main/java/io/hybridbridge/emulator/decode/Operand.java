package io.hybridbridge.emulator.decode;

/**
 * One explicit operand of a decoded instruction. Immutable; position-independent (branch targets are kept
 * relative to the next instruction, rip-relative memory operands keep {@link Reg#RIP} as base), so a decoded
 * instruction stays valid wherever its code is mapped.
 */
public final class Operand {
  /** Operand kinds. */
  public static final byte REG = 0, IMM = 1, MEM = 2, REL = 3, SEGMENT = 4, CONTROL = 5;

  public final byte kind;
  /** Size in bytes of the value the operand holds (1, 2, 4, 8; 16 for cmpxchg16b's memory operand). */
  public final byte size;
  /** REG: GPR number; SEGMENT: {@link Reg#ES}..{@link Reg#GS}; CONTROL: n of CRn. */
  public final byte reg;
  /** REG of size 1: one of ah, ch, dh, bh (bits 8..15 of register {@link #reg}). */
  public final boolean high8;
  /** IMM: the immediate, sign-extended to 64 bits; REL: target minus the address of the next instruction. */
  public final long imm;
  /** MEM: segment override (only {@link Reg#FS} and {@link Reg#GS} matter), or {@link Reg#NONE}. */
  public final byte segment;
  /** MEM: base register, {@link Reg#RIP} or {@link Reg#NONE}. */
  public final byte base;
  /** MEM: index register or {@link Reg#NONE}. */
  public final byte index;
  /** MEM: scale of the index: 1, 2, 4 or 8. */
  public final byte scale;
  /** MEM: displacement. */
  public final long disp;
  /** MEM: the 0x67 prefix: the effective address is truncated to 32 bits. */
  public final boolean address32;

  private Operand(byte kind, int size, int reg, boolean high8, long imm, int segment, int base, int index,
      int scale, long disp, boolean address32) {
    this.kind = kind;
    this.size = (byte) size;
    this.reg = (byte) reg;
    this.high8 = high8;
    this.imm = imm;
    this.segment = (byte) segment;
    this.base = (byte) base;
    this.index = (byte) index;
    this.scale = (byte) scale;
    this.disp = disp;
    this.address32 = address32;
  }

  public static Operand register(int reg, int size, boolean high8) {
    return new Operand(REG, size, reg, high8, 0, Reg.NONE, Reg.NONE, Reg.NONE, 1, 0, false);
  }

  public static Operand immediate(long value, int size) {
    return new Operand(IMM, size, Reg.NONE, false, value, Reg.NONE, Reg.NONE, Reg.NONE, 1, 0, false);
  }

  public static Operand relative(long delta) {
    return new Operand(REL, 8, Reg.NONE, false, delta, Reg.NONE, Reg.NONE, Reg.NONE, 1, 0, false);
  }

  public static Operand memory(int size, int segment, int base, int index, int scale, long disp,
      boolean address32) {
    return new Operand(MEM, size, Reg.NONE, false, 0, segment, base, index, scale, disp, address32);
  }

  public static Operand segmentRegister(int segment) {
    return new Operand(SEGMENT, 2, segment, false, 0, Reg.NONE, Reg.NONE, Reg.NONE, 1, 0, false);
  }

  public static Operand controlRegister(int n) {
    return new Operand(CONTROL, 8, n, false, 0, Reg.NONE, Reg.NONE, Reg.NONE, 1, 0, false);
  }

  /** Rebuilds an operand from all its fields (the decode-cache reader). */
  static Operand of(byte kind, int size, int reg, boolean high8, long imm, int segment, int base, int index,
      int scale, long disp, boolean address32) {
    return new Operand(kind, size, reg, high8, imm, segment, base, index, scale, disp, address32);
  }

  public boolean isMemory() {
    return kind == MEM;
  }

  @Override
  public String toString() {
    switch (kind) {
      case REG:
        return high8 ? "abcd".charAt(reg) + "h" : Reg.gprName(reg, size);
      case IMM:
        return "0x" + Long.toHexString(imm);
      case REL:
        return ".%+d".formatted(imm);
      case SEGMENT:
        return Reg.segmentName(reg);
      case CONTROL:
        return "cr" + reg;
      default:
        StringBuilder sb = new StringBuilder(size + "b[");
        if (segment != Reg.NONE) {
          sb.append(Reg.segmentName(segment)).append(':');
        }
        if (base != Reg.NONE) {
          sb.append(Reg.name(base));
        }
        if (index != Reg.NONE) {
          sb.append('+').append(Reg.name(index)).append('*').append(scale);
        }
        return sb.append(disp < 0 ? "-0x" + Long.toHexString(-disp) : "+0x" + Long.toHexString(disp))
            .append(']').toString();
    }
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Operand p && kind == p.kind && size == p.size && reg == p.reg && high8 == p.high8
        && imm == p.imm && segment == p.segment && base == p.base && index == p.index && scale == p.scale
        && disp == p.disp && address32 == p.address32;
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(kind, size, reg, high8, imm, segment, base, index, scale, disp, address32);
  }
}
