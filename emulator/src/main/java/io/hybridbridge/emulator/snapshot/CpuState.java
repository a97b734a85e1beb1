package io.hybridbridge.emulator.snapshot;

import java.util.Map;

/**
 * Architectural state of one vCPU at the moment of the snapshot.
 *
 * <p>{@link Origin#QEMU_NOTE} has everything; {@link Origin#PRSTATUS} (an ELF core without QEMU's note) has no
 * control registers or kernel GS base ({@link #hasControlRegisters()} is false).
 */
public record CpuState(
    int index,
    Origin origin,
    long rax, long rbx, long rcx, long rdx, long rsi, long rdi, long rsp, long rbp,
    long r8, long r9, long r10, long r11, long r12, long r13, long r14, long r15,
    long rip, long rflags,
    SegmentRegister cs, SegmentRegister ds, SegmentRegister es, SegmentRegister fs, SegmentRegister gs,
    SegmentRegister ss, SegmentRegister ldt, SegmentRegister tr, SegmentRegister gdt, SegmentRegister idt,
    long cr0, long cr2, long cr3, long cr4,
    long kernelGsBase) {

  /** Where the state came from. */
  public enum Origin { QEMU_NOTE, PRSTATUS, SIDECAR }

  /** CR4.LA57: 5-level paging. */
  public static final long CR4_LA57 = 1L << 12;
  /** CR0.WP: supervisor writes honour read-only pages. */
  public static final long CR0_WP = 1L << 16;
  /** Under page-table isolation the user half of a PGD pair is the odd 4 KiB page: CR3 bit 12. */
  public static final long CR3_PTI_USER = 1L << 12;
  private static final long CR3_ADDRESS = 0x000f_ffff_ffff_f000L;

  public boolean hasControlRegisters() {
    return origin != Origin.PRSTATUS && cr3 != 0;
  }

  /** The CPU was executing user code (CS.RPL = 3). */
  public boolean userMode() {
    return cs.rpl() == 3;
  }

  /** The per-CPU area base: GS base in kernel mode; in user mode the kernel's value waits in KERNEL_GS_BASE. */
  public long perCpuBase() {
    return userMode() ? kernelGsBase : gs.base();
  }

  public int pagingLevels() {
    return (cr4 & CR4_LA57) != 0 ? 5 : 4;
  }

  /** The page-table root CR3 points at (PCID and flag bits cleared, PTI bit kept). */
  public long pageTableRoot() {
    return cr3 & CR3_ADDRESS;
  }

  /** General-purpose registers by their usual names, for printing. */
  public Map<String, Long> generalRegisters() {
    java.util.LinkedHashMap<String, Long> regs = new java.util.LinkedHashMap<>();
    regs.put("rax", rax); regs.put("rbx", rbx); regs.put("rcx", rcx); regs.put("rdx", rdx);
    regs.put("rsi", rsi); regs.put("rdi", rdi); regs.put("rsp", rsp); regs.put("rbp", rbp);
    regs.put("r8", r8); regs.put("r9", r9); regs.put("r10", r10); regs.put("r11", r11);
    regs.put("r12", r12); regs.put("r13", r13); regs.put("r14", r14); regs.put("r15", r15);
    regs.put("rip", rip); regs.put("rflags", rflags);
    return regs;
  }

  /** Segment registers by name, for printing. */
  public Map<String, SegmentRegister> segments() {
    java.util.LinkedHashMap<String, SegmentRegister> segs = new java.util.LinkedHashMap<>();
    segs.put("cs", cs); segs.put("ds", ds); segs.put("es", es); segs.put("fs", fs); segs.put("gs", gs);
    segs.put("ss", ss); segs.put("ldt", ldt); segs.put("tr", tr); segs.put("gdt", gdt); segs.put("idt", idt);
    return segs;
  }
}
