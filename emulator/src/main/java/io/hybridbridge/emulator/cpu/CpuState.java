package io.hybridbridge.emulator.cpu;

import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * Architectural state of one x86-64 CPU: general-purpose registers, RIP, RFLAGS (arithmetic flags kept lazily),
 * segment selectors and the FS/GS bases, control registers, XCR0 and a fixed MSR model.
 *
 * <p>The arithmetic flags are not stored as bits after every instruction: the last flag-setting operation,
 * its operands and result are kept and each flag is computed when read ({@link #rflags()}, conditions). This
 * is the usual lazy-flags technique (QEMU's cc_op, JPC); it is invisible through this class's API.
 */
public final class CpuState {
  public static final long CF = 1L, PF = 1L << 2, AF = 1L << 4, ZF = 1L << 6, SF = 1L << 7, TF = 1L << 8,
      IF = 1L << 9, DF = 1L << 10, OF = 1L << 11, IOPL = 3L << 12, NT = 1L << 14, RF = 1L << 16,
      AC = 1L << 18, ID = 1L << 21;
  /** The six arithmetic flags. */
  public static final long ARITHMETIC_FLAGS = CF | PF | AF | ZF | SF | OF;
  /** RFLAGS bits that popfq / iretq at CPL 0 may change. */
  public static final long WRITABLE_FLAGS = ARITHMETIC_FLAGS | TF | IF | DF | IOPL | NT | AC | ID;
  /** Bit 1 of RFLAGS reads as one. */
  static final long FIXED_ONE = 1L << 1;

  /**
   * Lazy-flag operations: how {@link #ccA}, {@link #ccB}, {@link #ccResult} define the arithmetic flags. From
   * {@link #CC_INC} on, CF is {@link #ccCarry} itself (a translated inc or dec reads it there without a call).
   * CC_RESULT (shifts, multiplications): CF and OF given, AF clear, ZF, SF and PF those of the result.
   */
  static final int CC_EAGER = 0, CC_ADD = 1, CC_SUB = 2, CC_LOGIC = 3, CC_INC = 4, CC_DEC = 5, CC_RESULT = 6;

  final long[] gpr = new long[16];
  long rip;

  int ccOp = CC_EAGER;
  long ccA;
  /** CC_RESULT: OF. */
  long ccB;
  long ccResult;
  int ccSize = 8;
  /** CC_ADD/CC_SUB: carry/borrow in; CC_INC/CC_DEC: the carry flag they preserve; CC_RESULT: CF. */
  long ccCarry;
  /** CC_EAGER: the arithmetic flags as bits. */
  long ccFlags;
  /** The RFLAGS bits that are not arithmetic flags (DF, IF, AC, ...), including the fixed bit 1. */
  long systemFlags = FIXED_ONE;

  /** Current privilege level (0 kernel, 3 user). */
  int cpl;
  /** Segment selectors, indexed by {@link io.hybridbridge.emulator.decode.Reg#ES} .. GS. */
  final int[] selectors = new int[6];
  long fsBase;
  long gsBase;
  long kernelGsBase;
  long cr0;
  long cr2;
  long cr3;
  long cr4;
  long cr8;
  long xcr0 = 0x3; // x87 | SSE: what a stateless FPU can claim
  /** MSRs the model knows (other than the FS/GS bases, which live in their own fields). */
  private final Map<Integer, Long> msrs = new TreeMap<>();

  public CpuState() {}

  /**
   * The state a snapshot recorded for one vCPU: registers, RFLAGS, selectors (CPL from CS), FS/GS bases and
   * KERNEL_GS_BASE, CR0-CR4. MSRs other than the bases are not in a dump: the caller adds its fixed model.
   */
  public static CpuState of(io.hybridbridge.emulator.snapshot.CpuState dump) {
    CpuState s = new CpuState();
    long[] gprs = {dump.rax(), dump.rcx(), dump.rdx(), dump.rbx(), dump.rsp(), dump.rbp(), dump.rsi(),
      dump.rdi(), dump.r8(), dump.r9(), dump.r10(), dump.r11(), dump.r12(), dump.r13(), dump.r14(), dump.r15()};
    System.arraycopy(gprs, 0, s.gpr, 0, 16);
    s.rip = dump.rip();
    s.setRflags(dump.rflags());
    io.hybridbridge.emulator.snapshot.SegmentRegister[] segments = {dump.es(), dump.cs(), dump.ss(), dump.ds(),
      dump.fs(), dump.gs()};
    for (int i = 0; i < segments.length; i++) {
      s.selectors[i] = segments[i].selector() & 0xffff;
    }
    s.cpl = dump.cs().rpl();
    s.fsBase = dump.fs().base();
    s.gsBase = dump.gs().base();
    s.kernelGsBase = dump.kernelGsBase();
    s.cr0 = dump.cr0();
    s.cr2 = dump.cr2();
    s.cr3 = dump.cr3();
    s.cr4 = dump.cr4();
    return s;
  }

  /** A deep copy, e.g. the state at a fault or before an experiment. */
  public CpuState copy() {
    CpuState c = new CpuState();
    c.restore(this);
    return c;
  }

  /** Makes this state equal to {@code from} (every register, flag, control register and MSR). */
  public void restore(CpuState from) {
    System.arraycopy(from.gpr, 0, gpr, 0, 16);
    rip = from.rip;
    ccOp = from.ccOp;
    ccA = from.ccA;
    ccB = from.ccB;
    ccResult = from.ccResult;
    ccSize = from.ccSize;
    ccCarry = from.ccCarry;
    ccFlags = from.ccFlags;
    systemFlags = from.systemFlags;
    cpl = from.cpl;
    System.arraycopy(from.selectors, 0, selectors, 0, selectors.length);
    fsBase = from.fsBase;
    gsBase = from.gsBase;
    kernelGsBase = from.kernelGsBase;
    cr0 = from.cr0;
    cr2 = from.cr2;
    cr3 = from.cr3;
    cr4 = from.cr4;
    cr8 = from.cr8;
    xcr0 = from.xcr0;
    msrs.clear();
    msrs.putAll(from.msrs);
  }

  // ---- registers

  /** General-purpose register {@code reg} (0..15, {@link io.hybridbridge.emulator.decode.Reg} numbering). */
  public long get(int reg) {
    return gpr[reg];
  }

  public void set(int reg, long value) {
    gpr[reg] = value;
  }

  public long rip() {
    return rip;
  }

  public void setRip(long rip) {
    this.rip = rip;
  }

  public int cpl() {
    return cpl;
  }

  public void setCpl(int cpl) {
    this.cpl = cpl;
  }

  public int selector(int segment) {
    return selectors[segment];
  }

  public void setSelector(int segment, int value) {
    selectors[segment] = value & 0xffff;
  }

  public long fsBase() {
    return fsBase;
  }

  public void setFsBase(long v) {
    fsBase = v;
  }

  public long gsBase() {
    return gsBase;
  }

  public void setGsBase(long v) {
    gsBase = v;
  }

  public long kernelGsBase() {
    return kernelGsBase;
  }

  public void setKernelGsBase(long v) {
    kernelGsBase = v;
  }

  /** Control register CRn for n in 0, 2, 3, 4, 8. */
  public long cr(int n) {
    switch (n) {
      case 0: return cr0;
      case 2: return cr2;
      case 3: return cr3;
      case 4: return cr4;
      case 8: return cr8;
      default: throw new IllegalArgumentException("no CR" + n);
    }
  }

  /** Sets CRn without side effects (use the CPU's instruction path for TLB effects of a CR3 write). */
  public void setCr(int n, long value) {
    switch (n) {
      case 0: cr0 = value; break;
      case 2: cr2 = value; break;
      case 3: cr3 = value; break;
      case 4: cr4 = value; break;
      case 8: cr8 = value; break;
      default: throw new IllegalArgumentException("no CR" + n);
    }
  }

  public long xcr0() {
    return xcr0;
  }

  public void setXcr0(long v) {
    xcr0 = v;
  }

  // ---- MSRs

  /** The value of MSR {@code index}, or null when the model does not have it (rdmsr then raises #GP). */
  public Long msr(int index) {
    switch (index) {
      case Msr.FS_BASE: return fsBase;
      case Msr.GS_BASE: return gsBase;
      case Msr.KERNEL_GS_BASE: return kernelGsBase;
      default: return msrs.get(index);
    }
  }

  /** Adds or changes an MSR of the model. */
  public void setMsr(int index, long value) {
    switch (index) {
      case Msr.FS_BASE: fsBase = value; break;
      case Msr.GS_BASE: gsBase = value; break;
      case Msr.KERNEL_GS_BASE: kernelGsBase = value; break;
      default: msrs.put(index, value);
    }
  }

  // ---- flags

  /** RFLAGS with the arithmetic flags evaluated. */
  public long rflags() {
    return systemFlags | FIXED_ONE | arithmeticFlags();
  }

  /** Sets all of RFLAGS (bit 1 reads as one regardless). */
  public void setRflags(long value) {
    ccOp = CC_EAGER;
    ccFlags = value & ARITHMETIC_FLAGS;
    systemFlags = (value & ~ARITHMETIC_FLAGS) | FIXED_ONE;
  }

  long arithmeticFlags() {
    if (ccOp == CC_EAGER) {
      return ccFlags;
    }
    return cf() | (pf() << 2) | (af() << 4) | (zf() << 6) | (sf() << 7) | (of() << 11);
  }

  /** Makes the arithmetic flags eager with {@code flags} (only the six arithmetic bits are taken). */
  void setArithmeticFlags(long flags) {
    ccOp = CC_EAGER;
    ccFlags = flags & ARITHMETIC_FLAGS;
  }

  /** Sets CF to {@code cf} (0 or 1) and keeps the other arithmetic flags (clc, stc, cmc, bt). */
  void setCarry(long cf) {
    setArithmeticFlags((arithmeticFlags() & ~CF) | cf);
  }

  void lazy(int op, long a, long b, long result, int size, long carry) {
    ccOp = op;
    ccA = a;
    ccB = b;
    ccResult = result;
    ccSize = size;
    ccCarry = carry;
  }

  boolean flag(long bit) {
    return (systemFlags & bit) != 0;
  }

  void setFlag(long bit, boolean on) {
    systemFlags = on ? systemFlags | bit : systemFlags & ~bit;
  }

  long cf() {
    switch (ccOp) {
      case CC_EAGER: return ccFlags & 1;
      case CC_ADD: return msb((ccA & ccB) | ((ccA | ccB) & ~ccResult), ccSize);
      case CC_SUB: return msb((~ccA & ccB) | ((~ccA | ccB) & ccResult), ccSize);
      case CC_LOGIC: return 0;
      default: return ccCarry;
    }
  }

  long of() {
    switch (ccOp) {
      case CC_EAGER: return (ccFlags >>> 11) & 1;
      case CC_ADD: case CC_INC: return msb((ccA ^ ccResult) & (ccB ^ ccResult), ccSize);
      case CC_SUB: case CC_DEC: return msb((ccA ^ ccB) & (ccA ^ ccResult), ccSize);
      case CC_RESULT: return ccB;
      default: return 0;
    }
  }

  long zf() {
    if (ccOp == CC_EAGER) {
      return (ccFlags >>> 6) & 1;
    }
    return (ccResult & mask(ccSize)) == 0 ? 1 : 0;
  }

  long sf() {
    if (ccOp == CC_EAGER) {
      return (ccFlags >>> 7) & 1;
    }
    return msb(ccResult, ccSize);
  }

  long pf() {
    if (ccOp == CC_EAGER) {
      return (ccFlags >>> 2) & 1;
    }
    return parity(ccResult);
  }

  long af() {
    switch (ccOp) {
      case CC_EAGER: return (ccFlags >>> 4) & 1;
      case CC_LOGIC: case CC_RESULT: return 0;
      default: return ((ccA ^ ccB ^ ccResult) >>> 4) & 1;
    }
  }

  /** Evaluates x86 condition code {@code cc} (0..15: o, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g). */
  boolean condition(int cc) {
    if (ccOp == CC_SUB && ccCarry == 0) {
      // cmp/sub: compare the operands directly instead of deriving flags.
      long a = ccA;
      long b = ccB;
      int shift = 64 - 8 * ccSize;
      switch (cc) {
        case 2: return Long.compareUnsigned(a << shift, b << shift) < 0;
        case 3: return Long.compareUnsigned(a << shift, b << shift) >= 0;
        case 4: return (a << shift) == (b << shift);
        case 5: return (a << shift) != (b << shift);
        case 6: return Long.compareUnsigned(a << shift, b << shift) <= 0;
        case 7: return Long.compareUnsigned(a << shift, b << shift) > 0;
        case 12: return (a << shift) < (b << shift);
        case 13: return (a << shift) >= (b << shift);
        case 14: return (a << shift) <= (b << shift);
        case 15: return (a << shift) > (b << shift);
        default: break;
      }
    }
    boolean r;
    switch (cc >> 1) {
      case 0: r = of() != 0; break;
      case 1: r = cf() != 0; break;
      case 2: r = zf() != 0; break;
      case 3: r = (cf() | zf()) != 0; break;
      case 4: r = sf() != 0; break;
      case 5: r = pf() != 0; break;
      case 6: r = sf() != of(); break;
      default: r = zf() != 0 || sf() != of(); break;
    }
    return r ^ ((cc & 1) != 0);
  }

  static long mask(int size) {
    return size >= 8 ? -1L : (1L << (size * 8)) - 1;
  }

  static long msb(long v, int size) {
    return (v >>> (size * 8 - 1)) & 1;
  }

  static long parity(long v) {
    return (Integer.bitCount((int) v & 0xff) & 1) ^ 1;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("rip=0x%x rflags=0x%x cpl=%d".formatted(rip, rflags(), cpl));
    for (int i = 0; i < 16; i++) {
      sb.append(' ').append(io.hybridbridge.emulator.decode.Reg.name(i)).append("=0x")
          .append(Long.toHexString(gpr[i]));
    }
    return sb.toString();
  }

  /** Registers, RIP and RFLAGS as an array (gpr[0..15], rip, rflags), for comparisons in tests and logs. */
  public long[] snapshot() {
    long[] s = Arrays.copyOf(gpr, 18);
    s[16] = rip;
    s[17] = rflags();
    return s;
  }
}
