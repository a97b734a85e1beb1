package io.hybridbridge.emulator.machine;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.cpu.Cpu;
import io.hybridbridge.emulator.cpu.CpuState;
import io.hybridbridge.emulator.cpu.Fault;
import io.hybridbridge.emulator.cpu.FrameCache;
import io.hybridbridge.emulator.cpu.PagedMemory;
import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.memory.PageFaultException;
import io.hybridbridge.emulator.memory.SparseMemory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.junit.jupiter.api.Test;

/**
 * The exception-table parser and each fixup type on synthetic entries (the kernel's format: relative insn and
 * fixup, type/register/flags/immediate in data), as {@code fixup_exception} of Linux 6.1/6.12 applies them.
 * Real tables and real faulting user copies are in MachineFailuresTest.
 */
class ExceptionTableTest {
  private static final long TABLE = 0xffffffff82000000L;
  private static final long CODE = 0xffffffff81000000L;
  private static final long DATA = 0xffff888000010000L;

  private final SparseMemory ram = new SparseMemory();
  private final PagedMemory memory = new PagedMemory(new FrameCache(ram), (va, access) -> {
    if (!ram.hasPage(va >>> 12)) {
      throw new PageFaultException("not present", va, 0);
    }
    return va;
  });
  private final Cpu cpu = new Cpu(new CpuState(), memory, new DecodeCache("test"));
  private final ByteBuffer entries = ByteBuffer.allocate(12 * 8).order(ByteOrder.LITTLE_ENDIAN);

  /** Entry {@code i}: a fault at CODE + 16 i continues at CODE + 16 i + 3 with {@code data}. */
  private void entry(int i, int data) {
    long at = TABLE + 12L * i;
    entries.putInt(12 * i, (int) (CODE + 16L * i - at));
    entries.putInt(12 * i + 4, (int) (CODE + 16L * i + 3 - (at + 4)));
    entries.putInt(12 * i + 8, data);
  }

  private ExceptionTable table(int n) throws Exception {
    ram.put(TABLE, entries.array());
    return ExceptionTable.read(memory, TABLE, TABLE + 12L * n);
  }

  private static Fault pageFault(int i, long address) {
    return new Fault(Fault.PF, CODE + 16L * i, address, 0, "test");
  }

  @Test
  void fixupsDoWhatTheKernelsDo() throws Exception {
    entry(0, ExceptionTable.DEFAULT | 3 << 12);                       // EX_FLAG_CLEAR_AX_DX
    entry(1, ExceptionTable.FAULT);
    entry(2, ExceptionTable.IMM_REG | Reg.RCX << 8 | -14 << 16);       // EX_TYPE_EFAULT_REG, %rcx
    entry(3, ExceptionTable.POP_REG | Reg.RAX << 8);                  // EX_TYPE_POP_ZERO, %rax
    entry(4, ExceptionTable.UCOPY_LEN | Reg.RDX << 8 | 8 << 16);      // EX_TYPE_UCOPY_LEN8, %rdx
    entry(5, ExceptionTable.ZEROPAD);
    entry(6, 6);                                                      // EX_TYPE_FPU_RESTORE: not emulated
    ExceptionTable table = table(7);
    assertThat(table.size()).isEqualTo(7);
    CpuState s = cpu.state();

    s.set(Reg.RAX, 5);
    s.set(Reg.RDX, 6);
    assertThat(table.fixup(cpu, pageFault(0, 0))).isNull();
    assertThat(s.rip()).isEqualTo(CODE + 3);
    assertThat(s.get(Reg.RAX)).isZero();
    assertThat(s.get(Reg.RDX)).isZero();

    assertThat(table.fixup(cpu, pageFault(1, 0))).isNull();
    assertThat(s.get(Reg.RAX)).as("trap number").isEqualTo(Fault.PF);

    assertThat(table.fixup(cpu, pageFault(2, 0))).isNull();
    assertThat(s.get(Reg.RCX)).isEqualTo(-14);
    assertThat(s.rip()).isEqualTo(CODE + 32 + 3);

    s.set(Reg.RSP, 0x1000);
    s.set(Reg.RAX, 9);
    assertThat(table.fixup(cpu, pageFault(3, 0))).isNull();
    assertThat(s.get(Reg.RSP)).isEqualTo(0x1008);
    assertThat(s.get(Reg.RAX)).isZero();

    s.set(Reg.RCX, 3); // words left
    s.set(Reg.RDX, 5); // bytes of the tail
    assertThat(table.fixup(cpu, pageFault(4, 0))).isNull();
    assertThat(s.get(Reg.RCX)).as("bytes not copied: 8 * rcx + rdx").isEqualTo(29);

    // load_unaligned_zeropad: mov rax, [rdi] at 5 bytes into a word whose next page is missing.
    ram.put(CODE + 16 * 5, new byte[] {0x48, (byte) 0x8b, 0x07});
    ram.put(DATA + 0xff8, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
    s.set(Reg.RDI, DATA + 0xffd);
    assertThat(table.fixup(cpu, pageFault(5, DATA + 0x1000))).isNull();
    assertThat(s.get(Reg.RAX)).isEqualTo(0x080706L);
    assertThat(s.rip()).isEqualTo(CODE + 80 + 3);
    assertThat(table.fixup(cpu, pageFault(5, DATA + 0x2000))).as("a fault elsewhere than the next word")
        .contains("not the word after");

    assertThat(table.fixup(cpu, pageFault(6, 0))).isEqualTo("exception-table fixup type 6 is not emulated");
    assertThat(table.fixup(cpu, new Fault(Fault.PF, CODE + 8, 0, 0, "x"))).isEqualTo("no exception-table entry");
    assertThat(table.covers(CODE + 16)).isTrue();
    assertThat(table.covers(CODE + 17)).isFalse();
  }

  @Test
  void aTableThatIsNotWholeEntriesIsRefused() {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> ExceptionTable.read(memory, TABLE, TABLE + 13))
        .isInstanceOf(MachineException.class).hasMessageContaining("not a whole number of 12-byte entries");
  }
}
