package io.hybridbridge.emulator.snapshot;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The ELF notes QEMU writes into its dumps (the same blob sits in the PT_NOTE segment of an ELF core and after
 * the sub-header of a kdump file): per vCPU a {@code CORE}/NT_PRSTATUS note and a {@code QEMU} CPU-state note,
 * and the guest's {@code VMCOREINFO} when the guest exposed one.
 */
record ElfNotes(List<CpuState> cpus, Optional<String> vmcoreinfo) {
  /** Refuse note blobs bigger than any real dump carries (thousands of vCPUs take well under 16 MiB). */
  static final int MAX_BYTES = 16 << 20;
  static final int MAX_CPUS = 8192;

  private static final int NT_PRSTATUS = 1;
  private static final int PRSTATUS_REGS_OFFSET = 112;
  private static final int PRSTATUS_MIN_SIZE = PRSTATUS_REGS_OFFSET + 27 * 8;
  private static final int QEMU_NOTE_MIN_SIZE = 432; // up to and including cr[4]; kernel_gs_base follows
  private static final int QEMU_NOTE_KERNEL_GS_BASE = 432;
  private static final int VMCOREINFO_MAX = 1 << 20;

  static ElfNotes parse(byte[] blob, String where) throws SnapshotFormatException {
    ByteBuffer buf = ByteBuffer.wrap(blob).order(ByteOrder.LITTLE_ENDIAN);
    List<ByteBuffer> prstatus = new ArrayList<>();
    List<ByteBuffer> qemu = new ArrayList<>();
    String vmcoreinfo = null;
    int pos = 0;
    while (blob.length - pos >= 12) {
      long nameSize = Integer.toUnsignedLong(buf.getInt(pos));
      long descSize = Integer.toUnsignedLong(buf.getInt(pos + 4));
      int type = buf.getInt(pos + 8);
      long nameStart = pos + 12L;
      long descStart = nameStart + align4(nameSize);
      long next = descStart + align4(descSize);
      if (descStart + descSize > blob.length) {
        throw bad(where, String.format("note at offset %d (name %d bytes, desc %d bytes) runs past the %d bytes of notes",
            pos, nameSize, descSize, blob.length));
      }
      String name = cString(blob, (int) nameStart, (int) nameSize);
      ByteBuffer desc = ByteBuffer.wrap(blob, (int) descStart, (int) descSize).slice().order(ByteOrder.LITTLE_ENDIAN);
      if (name.equals("CORE") && type == NT_PRSTATUS) {
        prstatus.add(desc);
      } else if (name.equals("QEMU")) {
        qemu.add(desc);
      } else if (name.equals("VMCOREINFO") && vmcoreinfo == null) {
        vmcoreinfo = new String(blob, (int) descStart, (int) Math.min(descSize, VMCOREINFO_MAX), StandardCharsets.UTF_8)
            .replace("\0", "");
      }
      if (prstatus.size() > MAX_CPUS || qemu.size() > MAX_CPUS) {
        throw new SnapshotFormatException(SnapshotFormatException.Reason.TOO_LARGE,
            where + ": more than " + MAX_CPUS + " CPU notes");
      }
      pos = (int) Math.min(next, blob.length);
    }
    List<CpuState> cpus = new ArrayList<>();
    if (!qemu.isEmpty()) {
      for (int i = 0; i < qemu.size(); i++) {
        cpus.add(fromQemuNote(i, qemu.get(i), where));
      }
    } else {
      for (int i = 0; i < prstatus.size(); i++) {
        cpus.add(fromPrstatus(i, prstatus.get(i), where));
      }
    }
    return new ElfNotes(List.copyOf(cpus), Optional.ofNullable(vmcoreinfo));
  }

  /** QEMUCPUState v1: u32 version, u32 size, 18 GPRs + RIP + RFLAGS, 10 segments, cr[5], kernel_gs_base. */
  private static CpuState fromQemuNote(int index, ByteBuffer d, String where) throws SnapshotFormatException {
    if (d.remaining() < QEMU_NOTE_MIN_SIZE) {
      throw bad(where, "QEMU CPU-state note " + index + " has " + d.remaining() + " bytes, needs " + QEMU_NOTE_MIN_SIZE);
    }
    int version = d.getInt(0);
    if (version != 1) {
      throw bad(where, "QEMU CPU-state note " + index + " has version " + version + ", only version 1 is known");
    }
    long[] r = new long[18];
    for (int i = 0; i < r.length; i++) {
      r[i] = d.getLong(8 + 8 * i);
    }
    SegmentRegister[] s = new SegmentRegister[10];
    for (int i = 0; i < s.length; i++) {
      int at = 8 + 18 * 8 + 24 * i;
      s[i] = new SegmentRegister(d.getInt(at), d.getInt(at + 4), d.getInt(at + 8), d.getLong(at + 16));
    }
    int cr = 8 + 18 * 8 + 24 * 10;
    long kernelGsBase = d.remaining() >= QEMU_NOTE_KERNEL_GS_BASE + 8 ? d.getLong(QEMU_NOTE_KERNEL_GS_BASE) : 0;
    return new CpuState(index, CpuState.Origin.QEMU_NOTE,
        r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13], r[14], r[15],
        r[16], r[17], s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8], s[9],
        d.getLong(cr), d.getLong(cr + 16), d.getLong(cr + 24), d.getLong(cr + 32), kernelGsBase);
  }

  /** elf_prstatus: user_regs_struct at offset 112 (r15 … gs), no control registers. */
  private static CpuState fromPrstatus(int index, ByteBuffer d, String where) throws SnapshotFormatException {
    if (d.remaining() < PRSTATUS_MIN_SIZE) {
      throw bad(where, "NT_PRSTATUS note " + index + " has " + d.remaining() + " bytes, needs " + PRSTATUS_MIN_SIZE);
    }
    long[] u = new long[27];
    for (int i = 0; i < u.length; i++) {
      u[i] = d.getLong(PRSTATUS_REGS_OFFSET + 8 * i);
    }
    // r15 r14 r13 r12 rbp rbx r11 r10 r9 r8 rax rcx rdx rsi rdi orig_rax rip cs eflags rsp ss fs_base gs_base ds es fs gs
    return new CpuState(index, CpuState.Origin.PRSTATUS,
        u[10], u[5], u[11], u[12], u[13], u[14], u[19], u[4], u[9], u[8], u[7], u[6], u[3], u[2], u[1], u[0],
        u[16], u[18], seg(u[17], 0), seg(u[23], 0), seg(u[24], 0), seg(u[25], u[21]), seg(u[26], u[22]),
        seg(u[20], 0), SegmentRegister.NONE, SegmentRegister.NONE, SegmentRegister.NONE, SegmentRegister.NONE,
        0, 0, 0, 0, 0);
  }

  private static SegmentRegister seg(long selector, long base) {
    return new SegmentRegister((int) selector, 0, 0, base);
  }

  private static long align4(long n) {
    return (n + 3) & ~3L;
  }

  private static String cString(byte[] b, int start, int length) {
    int end = start;
    while (end < start + length && b[end] != 0) {
      end++;
    }
    return new String(b, start, end - start, StandardCharsets.ISO_8859_1);
  }

  private static SnapshotFormatException bad(String where, String message) {
    return new SnapshotFormatException(SnapshotFormatException.Reason.BAD_NOTES, where + ": " + message);
  }
}
