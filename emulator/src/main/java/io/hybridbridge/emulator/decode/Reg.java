package io.hybridbridge.emulator.decode;

/**
 * Register numbers of the decoded form: general-purpose registers in x86 encoding order (what a REX-extended
 * ModRM field holds), plus a few pseudo-registers that only appear as memory-operand bases.
 */
public final class Reg {
  public static final int RAX = 0, RCX = 1, RDX = 2, RBX = 3, RSP = 4, RBP = 5, RSI = 6, RDI = 7;
  public static final int R8 = 8, R9 = 9, R10 = 10, R11 = 11, R12 = 12, R13 = 13, R14 = 14, R15 = 15;
  /** Memory-operand base meaning "the address of the next instruction" (rip-relative addressing). */
  public static final int RIP = 16;
  /** No base or no index register. */
  public static final int NONE = -1;

  /** Segment registers in encoding order (only FS and GS have a non-zero base in 64-bit mode). */
  public static final int ES = 0, CS = 1, SS = 2, DS = 3, FS = 4, GS = 5;

  private static final String[] NAMES64 = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"
  };
  private static final String[] SEGMENTS = {"es", "cs", "ss", "ds", "fs", "gs"};

  private Reg() {}

  /** The 64-bit name of a general-purpose register, or "rip". */
  public static String name(int reg) {
    return reg == RIP ? "rip" : NAMES64[reg];
  }

  public static String segmentName(int segment) {
    return SEGMENTS[segment];
  }

  /** A register as Capstone names it, resolved to our numbering. */
  record Named(int kind, int number, int size, boolean high8) {}

  /** Register kinds recognised by {@link #parse}. */
  static final int GPR = 0, SEGMENT = 1, CONTROL = 2, INSTRUCTION_POINTER = 3;

  /**
   * Parses one of Capstone's lower-case register names ("eax", "r9b", "ah", "cr3", "gs", "rip", ...);
   * returns null for registers the decoded form does not carry (vector, x87, debug registers).
   */
  static Named parse(String name) {
    for (int i = 0; i < 16; i++) {
      for (int size : new int[] {8, 4, 2, 1}) {
        if (name.equals(gprName(i, size))) {
          return new Named(GPR, i, size, false);
        }
      }
    }
    switch (name) {
      case "ah": return new Named(GPR, RAX, 1, true);
      case "ch": return new Named(GPR, RCX, 1, true);
      case "dh": return new Named(GPR, RDX, 1, true);
      case "bh": return new Named(GPR, RBX, 1, true);
      case "rip": return new Named(INSTRUCTION_POINTER, RIP, 8, false);
      case "eip": return new Named(INSTRUCTION_POINTER, RIP, 4, false);
      default: break;
    }
    for (int s = 0; s < SEGMENTS.length; s++) {
      if (name.equals(SEGMENTS[s])) {
        return new Named(SEGMENT, s, 2, false);
      }
    }
    if (name.matches("cr([0-9]|1[0-5])")) {
      return new Named(CONTROL, Integer.parseInt(name.substring(2)), 8, false);
    }
    return null;
  }

  /** Capstone's name of GPR {@code reg} at {@code size} bytes (low byte for size 1). */
  static String gprName(int reg, int size) {
    if (reg < 8) {
      String base = NAMES64[reg].substring(1); // "ax", "cx", "sp", "si", ...
      switch (size) {
        case 8: return "r" + base;
        case 4: return "e" + base;
        case 2: return base;
        default: return base.endsWith("x") ? base.charAt(0) + "l" : base + "l";
      }
    }
    String r = NAMES64[reg];
    switch (size) {
      case 8: return r;
      case 4: return r + "d";
      case 2: return r + "w";
      default: return r + "b";
    }
  }
}
