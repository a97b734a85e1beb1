package io.hybridbridge.emulator.machine;

import io.hybridbridge.emulator.cpu.AddressSpace;
import io.hybridbridge.emulator.cpu.Cpu;
import io.hybridbridge.emulator.cpu.CpuState;
import io.hybridbridge.emulator.cpu.Fault;
import io.hybridbridge.emulator.decode.Instruction;
import io.hybridbridge.emulator.decode.Operand;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import java.util.Arrays;

/**
 * The kernel's own exception table ({@code __start___ex_table} .. {@code __stop___ex_table}), and the fixups it
 * asks for: how the kernel survives a fault at an instruction that was written to fault (a user copy, a
 * word-at-a-time load past the end of a page, a safe MSR access).
 *
 * <p>Format (x86-64, Linux 5.17 and later, the same in 6.1 and 6.12: {@code struct exception_table_entry {int insn,
 * fixup, data;}}): {@code insn} and {@code fixup} are offsets from the address of the field itself; {@code data}
 * holds the type in bits 0-7, a register number (pt_regs order = x86 encoding order) in bits 8-11, flags in
 * bits 12-15 ({@code EX_FLAG_CLEAR_AX/DX}) and a signed immediate in bits 16-31
 * ({@code arch/x86/include/asm/extable_fixup_types.h}). What each type does is {@code fixup_exception} in
 * {@code arch/x86/mm/extable.c}; the types implemented here are those kernel paths can meet in a system call.
 */
final class ExceptionTable {
  static final int ENTRY_SIZE = 12;

  // Fixup types (extable_fixup_types.h; numbering unchanged from 6.1 to 6.12, 4 is unused from 6.2 on).
  static final int DEFAULT = 1, FAULT = 2, UACCESS = 3, COPY = 4, WRMSR = 8, RDMSR = 9, WRMSR_SAFE = 10,
      RDMSR_SAFE = 11, DEFAULT_MCE_SAFE = 14, FAULT_MCE_SAFE = 15, POP_REG = 16, IMM_REG = 17, UCOPY_LEN = 19,
      ZEROPAD = 20;
  private static final int CLEAR_AX = 1, CLEAR_DX = 2;
  private static final int EIO = 5;

  private final long[] insns; // runtime addresses, sorted
  private final long[] fixups;
  private final int[] data;

  private ExceptionTable(long[] insns, long[] fixups, int[] data) {
    this.insns = insns;
    this.fixups = fixups;
    this.data = data;
  }

  /** Reads the table at runtime addresses {@code [start, end)}; entries are sorted here, whatever the image says. */
  static ExceptionTable read(AddressSpace memory, long start, long end) throws MemoryAccessException,
      MachineException {
    long bytes = end - start;
    if (bytes < 0 || bytes % ENTRY_SIZE != 0 || bytes > (64L << 20)) {
      throw new MachineException(MachineException.Reason.SETUP, 0,
          "the exception table is %d bytes, not a whole number of %d-byte entries".formatted(bytes, ENTRY_SIZE));
    }
    int n = (int) (bytes / ENTRY_SIZE);
    byte[] raw = new byte[(int) bytes];
    memory.read(start, raw, 0, raw.length);
    java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    long[][] rows = new long[n][];
    for (int i = 0; i < n; i++) {
      long at = start + (long) i * ENTRY_SIZE;
      rows[i] = new long[] {at + b.getInt(i * ENTRY_SIZE), at + 4 + b.getInt(i * ENTRY_SIZE + 4),
        b.getInt(i * ENTRY_SIZE + 8)};
    }
    Arrays.sort(rows, (x, y) -> Long.compareUnsigned(x[0], y[0]));
    long[] insns = new long[n];
    long[] fixups = new long[n];
    int[] data = new int[n];
    for (int i = 0; i < n; i++) {
      insns[i] = rows[i][0];
      fixups[i] = rows[i][1];
      data[i] = (int) rows[i][2];
    }
    return new ExceptionTable(insns, fixups, data);
  }

  int size() {
    return insns.length;
  }

  /** The {@code i}-th entry in address order: instruction, fixup, data. */
  long[] entry(int i) {
    return new long[] {insns[i], fixups[i], data[i]};
  }

  /** Index of the entry for the instruction at {@code pc}, or -1. */
  private int find(long pc) {
    int lo = 0;
    int hi = insns.length - 1;
    while (lo <= hi) {
      int mid = (lo + hi) >>> 1;
      int c = Long.compareUnsigned(insns[mid], pc);
      if (c == 0) {
        return mid;
      }
      if (c < 0) {
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return -1;
  }

  /** Whether the table has an entry for {@code pc}. */
  boolean covers(long pc) {
    return find(pc) >= 0;
  }

  /**
   * Applies the fixup for a fault at {@code fault.pc()} as the kernel's {@code fixup_exception} would: on
   * success the CPU state is the one the kernel resumes with.
   *
   * @return null when fixed up; otherwise why not (no entry, or a type this emulation does not implement)
   */
  String fixup(Cpu cpu, Fault fault) throws MemoryAccessException {
    int i = find(fault.pc());
    if (i < 0) {
      return "no exception-table entry";
    }
    CpuState s = cpu.state();
    int d = data[i];
    int type = d & 0xff;
    int reg = (d >>> 8) & 0xf;
    long imm = d >> 16;
    switch (type) {
      case DEFAULT, DEFAULT_MCE_SAFE, UACCESS -> { }
      case FAULT, FAULT_MCE_SAFE, COPY -> s.set(Reg.RAX, fault.vector());
      case RDMSR, RDMSR_SAFE, WRMSR, WRMSR_SAFE -> {
        if (type == RDMSR || type == RDMSR_SAFE) {
          s.set(Reg.RAX, 0); // pretend the read succeeded and returned 0
          s.set(Reg.RDX, 0);
        }
        if (type == RDMSR_SAFE || type == WRMSR_SAFE) {
          s.set(reg, -EIO);
        }
      }
      case POP_REG -> {
        s.set(Reg.RSP, s.get(Reg.RSP) + 8);
        s.set(reg, imm);
      }
      case IMM_REG -> s.set(reg, imm);
      case UCOPY_LEN -> s.set(Reg.RCX, imm * s.get(Reg.RCX) + s.get(reg));
      case ZEROPAD -> {
        String why = zeropad(cpu, fault, fixups[i]);
        if (why != null) {
          return why;
        }
      }
      default -> {
        return "exception-table fixup type " + type + " is not emulated";
      }
    }
    if ((d >>> 12 & CLEAR_AX) != 0) {
      s.set(Reg.RAX, 0);
    }
    if ((d >>> 12 & CLEAR_DX) != 0) {
      s.set(Reg.RDX, 0);
    }
    s.setRip(fixups[i]);
    return null;
  }

  /**
   * load_unaligned_zeropad: an 8-byte {@code mov mem, reg} that ran into an unmapped page; the register gets the
   * bytes of the aligned word below, shifted down (the kernel's ex_handler_zeropad), and the run continues after
   * the instruction.
   */
  private static String zeropad(Cpu cpu, Fault fault, long fixup) throws MemoryAccessException {
    Instruction insn;
    try {
      insn = cpu.instruction(fault.pc());
    } catch (Exception e) {
      return "zeropad fixup: instruction cannot be decoded: " + e.getMessage();
    }
    Operand m = insn.memory;
    if (insn.operandSize != 8 || insn.op0 == null || insn.op0.kind != Operand.REG || m == null
        || fault.pc() + insn.length != fixup) {
      return "zeropad fixup at an instruction that is not an 8-byte load: " + insn.text;
    }
    CpuState s = cpu.state();
    long address = m.disp + (m.base == Reg.RIP ? fixup : m.base >= 0 ? s.get(m.base) : 0)
        + (m.index >= 0 ? s.get(m.index) * m.scale : 0);
    long aligned = address & ~7L;
    if (fault.address() != aligned + 8) {
      return "zeropad fixup for a fault at 0x%x, not the word after 0x%x".formatted(fault.address(), aligned);
    }
    s.set(insn.op0.reg, cpu.memory().read(aligned, 8) >>> (8 * (address & 7)));
    return null;
  }
}
