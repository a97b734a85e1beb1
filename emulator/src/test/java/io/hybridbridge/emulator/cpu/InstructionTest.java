package io.hybridbridge.emulator.cpu;

import static io.hybridbridge.emulator.decode.Reg.RAX;
import static io.hybridbridge.emulator.decode.Reg.RBX;
import static io.hybridbridge.emulator.decode.Reg.RCX;
import static io.hybridbridge.emulator.decode.Reg.RDI;
import static io.hybridbridge.emulator.decode.Reg.RDX;
import static io.hybridbridge.emulator.decode.Reg.RSP;
import static io.hybridbridge.emulator.decode.Reg.R11;
import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.memory.AddressTranslator;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Instructions whose results depend on the machine model (cpuid, MSRs, TSC, control registers, privilege
 * transitions) or that Unicorn cannot check (popcnt, fxsave), and the run loop's stop reasons.
 */
class InstructionTest {
  @Test
  void cpuidAnswersFromTheModelNotTheHost() throws Exception {
    try (TestMachine m = new TestMachine("xor eax, eax; cpuid; hlt")) {
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(m.reg(RBX)).isEqualTo(0x756e6547L); // "Genu"
      assertThat(m.reg(RDX)).isEqualTo(0x49656e69L); // "ineI"
      assertThat(m.reg(RCX)).isEqualTo(0x6c65746eL); // "ntel"
    }
    try (TestMachine m = new TestMachine("mov eax, 7; mov ecx, 1; cpuid; hlt")) {
      m.cpu.setCpuid(Cpuid.table(Map.of((7L << 32) | 1, new int[] {1, 2, 3, 4})));
      m.run();
      assertThat(new long[] {m.reg(RAX), m.reg(RBX), m.reg(RCX), m.reg(RDX)}).containsExactly(1, 2, 3, 4);
    }
  }

  @Test
  void timeStampCounterComesFromThePluggableClock() throws Exception {
    try (TestMachine m = new TestMachine("rdtsc; mov rbx, rax; mov rdi, rdx; rdtscp; rdpid r11; hlt")) {
      m.cpu.setClock(cpu -> 0x1122334455667788L);
      m.state.setMsr(Msr.TSC_AUX, 5);
      m.run();
      assertThat(m.reg(RBX)).isEqualTo(0x55667788L);
      assertThat(m.reg(RDI)).isEqualTo(0x11223344L);
      assertThat(m.reg(RCX)).isEqualTo(5);
      assertThat(m.reg(R11)).isEqualTo(5);
    }
    try (TestMachine m = new TestMachine("rdtsc; rdtsc; rdtsc; hlt")) {
      m.cpu.setClock(TscClock.counting(1000, 10));
      m.run();
      assertThat(m.reg(RAX)).isEqualTo(1000 + 2 * 10); // two instructions retired before the third rdtsc
    }
  }

  @Test
  void msrsFollowTheFixedModel() throws Exception {
    try (TestMachine m = new TestMachine("mov ecx, 0xc0000081; rdmsr; mov r8, rax; mov r9, rdx;"
        + " mov ecx, 0xc0000082; mov eax, 0x1234; mov edx, 0x5678; wrmsr; hlt")) {
      m.state.setMsr(Msr.STAR, 0x0023001000000000L);
      m.state.setMsr(Msr.LSTAR, 0);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(m.reg(io.hybridbridge.emulator.decode.Reg.R8)).isEqualTo(0);
      assertThat(m.reg(io.hybridbridge.emulator.decode.Reg.R9)).isEqualTo(0x00230010L);
      assertThat(m.state.msr(Msr.LSTAR)).isEqualTo(0x0000567800001234L);
    }
    try (TestMachine m = new TestMachine("mov ecx, 0x1b; rdmsr; hlt")) {
      Stop stop = m.run();
      assertThat(stop.reason()).isEqualTo(Stop.Reason.FAULT);
      assertThat(stop.fault().vector()).isEqualTo(Fault.GP);
      assertThat(stop.fault().pc()).isEqualTo(TestMachine.CODE + 5);
    }
  }

  @Test
  void cr3LoadSwitchesTranslatorAndFlushesTheTlb() throws Exception {
    try (TestMachine m = new TestMachine("mov rax, [0x400000]; mov cr3, rdi; mov rbx, [0x400000]; "
        + "mov rdx, cr3; hlt")) {
      m.image.put(0x200000, new byte[] {1}).put(0x201000, new byte[] {2});
      AddressTranslator identity = m.image.identity();
      List<Long> loads = new ArrayList<>();
      TranslatorFactory roots = cr3 -> {
        loads.add(cr3);
        return (va, access) -> va == 0x400000 ? 0x201000 : identity.toPhysical(va, access);
      };
      m.memory.setTranslator((va, access) -> va == 0x400000 ? 0x200000 : identity.toPhysical(va, access));
      m.cpu.setTranslatorFactory(roots);
      m.state.set(RDI, 0x8000000000001000L);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(m.reg(RAX)).isEqualTo(1);
      assertThat(m.reg(RBX)).isEqualTo(2);
      assertThat(loads).containsExactly(0x8000000000001000L);
      assertThat(m.reg(RDX)).isEqualTo(0x1000); // bit 63 (no-flush hint) is not part of CR3
    }
  }

  @Test
  void invlpgDropsTheCachedTranslationOfOnePage() throws Exception {
    try (TestMachine m = new TestMachine("mov rax, [rdi]; mov rbx, [rdi]; invlpg [rdi];"
        + " mov rcx, [rdi]; verw word ptr [rsi+8]; setz dl; hlt")) {
      m.image.put(0x200000, new byte[] {1}).put(0x201000, new byte[] {2});
      AddressTranslator identity = m.image.identity();
      long[] frame = {0x200000};
      m.memory.setTranslator((va, access) -> va == 0x400000 ? frame[0] : identity.toPhysical(va, access));
      m.cpu.addHook(TestMachine.CODE + 3, cpu -> { // the page table changes under the TLB
        frame[0] = 0x201000;
        return PcHook.Result.CONTINUE;
      });
      m.state.set(RDI, 0x400000);
      m.state.set(io.hybridbridge.emulator.decode.Reg.RSI, TestMachine.DATA + 0x800);
      m.image.put(TestMachine.DATA + 0x808, new byte[] {0x18});
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(m.reg(RAX)).isEqualTo(1);
      assertThat(m.reg(RBX)).isEqualTo(1); // stale, as on a real TLB
      assertThat(m.reg(RCX)).isEqualTo(2);
      assertThat(m.reg(RDX) & 0xff).isEqualTo(1); // verw of a non-null selector: ZF set (fixed model)
    }
  }

  @Test
  void syscallEntersAtLstarAndSysretqReturnsToUserMode() throws Exception {
    String code = "syscall; hlt; .org 0x100; swapgs; mov rax, qword ptr gs:[8]; swapgs; sysretq";
    try (TestMachine m = new TestMachine(code)) {
      m.state.setMsr(Msr.LSTAR, TestMachine.CODE + 0x100);
      m.state.setMsr(Msr.STAR, 0x0023001000000000L);
      m.state.setMsr(Msr.FMASK, CpuState.IF | CpuState.DF);
      m.state.setKernelGsBase(TestMachine.DATA);
      m.image.put(TestMachine.DATA + 8, new byte[] {0x2a});
      m.state.setCpl(3);
      m.state.setRflags(CpuState.IF | CpuState.DF | CpuState.CF | 2);
      Stop stop = m.run();
      assertThat(stop.reason()).isEqualTo(Stop.Reason.USER_RETURN);
      assertThat(stop.pc()).isEqualTo(TestMachine.CODE + 2);
      assertThat(m.reg(RAX)).isEqualTo(0x2a);
      assertThat(m.reg(RCX)).isEqualTo(TestMachine.CODE + 2);
      assertThat(m.reg(R11)).isEqualTo(CpuState.IF | CpuState.DF | CpuState.CF | 2);
      assertThat(m.state.rflags()).isEqualTo(CpuState.IF | CpuState.DF | CpuState.CF | 2);
      assertThat(m.state.cpl()).isEqualTo(3);
      assertThat(m.state.selector(io.hybridbridge.emulator.decode.Reg.CS)).isEqualTo(0x33);
      assertThat(m.state.gsBase()).isZero();
    }
  }

  @Test
  void enterSyscallDoesWhatTheInstructionDoes() throws Exception {
    try (TestMachine m = new TestMachine("nop; .org 0x100; mov eax, 39; sysretq")) {
      m.state.setMsr(Msr.LSTAR, TestMachine.CODE + 0x100);
      m.state.setMsr(Msr.FMASK, CpuState.IF);
      m.state.setRflags(CpuState.IF | 2);
      m.state.setCpl(3);
      m.cpu.enterSyscall();
      assertThat(m.state.rip()).isEqualTo(TestMachine.CODE + 0x100);
      assertThat(m.state.rflags() & CpuState.IF).isZero();
      assertThat(m.state.cpl()).isZero();
      Stop stop = m.run();
      assertThat(stop.reason()).isEqualTo(Stop.Reason.USER_RETURN);
      assertThat(stop.pc()).isEqualTo(TestMachine.CODE);
      assertThat(m.reg(RAX)).isEqualTo(39);
    }
  }

  @Test
  void iretqToKernelContinuesAndToUserStops() throws Exception {
    String code = "push 0x18; push rsp; add qword ptr [rsp], 8; pushfq; push 0x10; lea rax, [rip+1f]; push rax;"
        + " iretq; 1: push 0x2b; push 0x7000; push 0x202; push 0x33; push 0x4000; iretq";
    try (TestMachine m = new TestMachine(code)) {
      Stop stop = m.run();
      assertThat(stop.reason()).isEqualTo(Stop.Reason.USER_RETURN);
      assertThat(stop.pc()).isEqualTo(0x4000);
      assertThat(m.reg(RSP)).isEqualTo(0x7000);
      assertThat(m.state.cpl()).isEqualTo(3);
      assertThat(m.state.rflags()).isEqualTo(0x202);
    }
  }

  @Test
  void stateFromASnapshotsRegisters() {
    io.hybridbridge.emulator.snapshot.SegmentRegister none = io.hybridbridge.emulator.snapshot.SegmentRegister.NONE;
    var dump = new io.hybridbridge.emulator.snapshot.CpuState(0,
        io.hybridbridge.emulator.snapshot.CpuState.Origin.QEMU_NOTE, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
        15, 16, 0x401000, 0x246, new io.hybridbridge.emulator.snapshot.SegmentRegister(0x33, 0, 0, 0), none, none,
        new io.hybridbridge.emulator.snapshot.SegmentRegister(0, 0, 0, 0x7f00), new io.hybridbridge.emulator
            .snapshot.SegmentRegister(0, 0, 0, 0x7e00), new io.hybridbridge.emulator.snapshot.SegmentRegister(
                0x2b, 0, 0, 0), none, none, none, none, 0x80050033L, 0, 0x1234000L, 0x3506f0L, 0xffff888007a00000L);
    CpuState s = CpuState.of(dump);
    assertThat(s.get(RAX)).isEqualTo(1);
    assertThat(s.get(RBX)).isEqualTo(2);
    assertThat(s.get(RCX)).isEqualTo(3);
    assertThat(s.get(RSP)).isEqualTo(7);
    assertThat(s.get(io.hybridbridge.emulator.decode.Reg.R15)).isEqualTo(16);
    assertThat(s.rip()).isEqualTo(0x401000);
    assertThat(s.rflags()).isEqualTo(0x246);
    assertThat(s.cpl()).isEqualTo(3);
    assertThat(s.selector(io.hybridbridge.emulator.decode.Reg.SS)).isEqualTo(0x2b);
    assertThat(s.fsBase()).isEqualTo(0x7f00);
    assertThat(s.gsBase()).isEqualTo(0x7e00);
    assertThat(s.kernelGsBase()).isEqualTo(0xffff888007a00000L);
    assertThat(s.cr(3)).isEqualTo(0x1234000L);
  }

  @Test
  void privilegedInstructionsAtCpl3RaiseGp() throws Exception {
    try (TestMachine m = new TestMachine("cli")) {
      m.state.setCpl(3);
      Stop stop = m.run();
      assertThat(stop.fault().vector()).isEqualTo(Fault.GP);
    }
  }

  @Test
  void flagInstructionsAndControlRegisters() throws Exception {
    try (TestMachine m = new TestMachine("sti; stac; pushfq; pop rax; clac; cli; pushfq; pop rbx;"
        + " mov rcx, cr4; or rcx, 0x100000; mov cr4, rcx; mov rdx, cr4; hlt")) {
      m.run();
      assertThat(m.reg(RAX) & (CpuState.IF | CpuState.AC)).isEqualTo(CpuState.IF | CpuState.AC);
      assertThat(m.reg(RBX) & (CpuState.IF | CpuState.AC)).isZero();
      assertThat(m.reg(RDX)).isEqualTo(0x100000);
    }
  }

  @Test
  void popcntCountsAndSetsOnlyZf() throws Exception {
    try (TestMachine m = new TestMachine("stc; popcnt rax, rbx; pushfq; pop rcx; popcnt edx, edi; pushfq; "
        + "pop rdi; hlt")) {
      m.state.set(RBX, 0xf0f0_0000_0000_0001L);
      m.state.set(RDI, 0);
      m.run();
      assertThat(m.reg(RAX)).isEqualTo(9);
      assertThat(m.reg(RCX) & CpuState.ARITHMETIC_FLAGS).isZero();
      assertThat(m.reg(RDX)).isZero();
      assertThat(m.reg(RDI) & CpuState.ARITHMETIC_FLAGS).isEqualTo(CpuState.ZF);
    }
  }

  @Test
  void xgetbvAndStatelessFpu() throws Exception {
    try (TestMachine m = new TestMachine("xor ecx, ecx; xgetbv; fnclex; fninit; emms; wait; "
        + "fxsave64 [rdi]; fxrstor64 [rdi]; hlt")) {
      m.state.set(RDI, TestMachine.DATA + 0x100);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(m.reg(RAX)).isEqualTo(3);
      byte[] area = new byte[512];
      m.memory.read(TestMachine.DATA + 0x100, area, 0, 512);
      assertThat(area[0] & 0xff | (area[1] & 0xff) << 8).isEqualTo(0x37f);
      assertThat(area[24] & 0xff | (area[25] & 0xff) << 8).isEqualTo(0x1f80);
    }
    try (TestMachine m = new TestMachine("mov dword ptr [rdi+24], 0x10000; fxrstor64 [rdi]")) {
      m.state.set(RDI, TestMachine.DATA + 0x100);
      assertThat(m.run().fault().vector()).isEqualTo(Fault.GP);
    }
    try (TestMachine m = new TestMachine("fxsave64 [rdi]")) {
      m.state.set(RDI, TestMachine.DATA + 0x108);
      assertThat(m.run().fault().vector()).isEqualTo(Fault.GP);
    }
  }

  @Test
  void unimplementedInstructionStopsWithItsMnemonicAndPc() throws Exception {
    try (TestMachine m = new TestMachine("nop; movaps xmm0, xmm1")) {
      Stop stop = m.run();
      assertThat(stop.reason()).isEqualTo(Stop.Reason.UNIMPLEMENTED);
      assertThat(stop.pc()).isEqualTo(TestMachine.CODE + 1);
      assertThat(stop.detail()).contains("movaps xmm0, xmm1");
      assertThat(m.state.rip()).isEqualTo(TestMachine.CODE + 1);
    }
  }

  @Test
  void budgetStopsMidRepAndTheRunResumes() throws Exception {
    try (TestMachine m = new TestMachine("rep stosb; hlt")) {
      m.state.set(RCX, 100);
      m.state.set(RDI, TestMachine.DATA);
      m.state.set(RAX, 0x55);
      Stop stop = m.cpu.run(10);
      assertThat(stop.reason()).isEqualTo(Stop.Reason.BUDGET_EXHAUSTED);
      assertThat(stop.instructions()).isEqualTo(10);
      assertThat(m.state.rip()).isEqualTo(TestMachine.CODE);
      assertThat(m.reg(RCX)).isEqualTo(90);
      assertThat(m.cpu.run(1000).reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(m.reg(RCX)).isZero();
      assertThat(m.reg(RDI)).isEqualTo(TestMachine.DATA + 100);
    }
  }

  @Test
  void aSpinWaitThatCannotEndStopsTheRunAndABoundedOneDoesNot() throws Exception {
    // Waiting for memory nothing will change (one CPU, no interrupts): stops at the millionth pause, not the budget.
    try (TestMachine m = new TestMachine("1: pause; cmp qword ptr [rdi], 0; jne 1b; hlt")) {
      m.state.set(RDI, TestMachine.DATA);
      m.image.put(TestMachine.DATA, new byte[] {1});
      Stop stop = m.cpu.run(50_000_000);
      assertThat(stop.reason()).isEqualTo(Stop.Reason.SPINNING);
      assertThat(stop.instructions()).isEqualTo(3 * Executor.SPIN_LIMIT - 2);
      assertThat(stop.pc()).isEqualTo(TestMachine.CODE + 2);
    }
    // A wait that ends (a counted delay loop) runs to its end, and each run counts its own pauses.
    try (TestMachine m = new TestMachine("1: pause; dec rcx; jnz 1b; hlt")) {
      m.state.set(RCX, Executor.SPIN_LIMIT - 1);
      assertThat(m.cpu.run(50_000_000).reason()).isEqualTo(Stop.Reason.HALTED);
      m.state.set(RCX, Executor.SPIN_LIMIT - 1);
      m.state.setRip(TestMachine.CODE);
      assertThat(m.cpu.run(50_000_000).reason()).isEqualTo(Stop.Reason.HALTED);
    }
  }

  @Test
  void hooksRunBeforeTheirPcAndCanStandInForAFunction() throws Exception {
    // call 1f (5 bytes) at +0, mov rbx, rax (3) at +5, call 2f (5) at +8, hlt at +13, 1: at +14, 2: at +20
    try (TestMachine m = new TestMachine("call 1f; mov rbx, rax; call 2f; hlt; 1: mov eax, 1; ret; 2: ud2")) {
      long first = TestMachine.CODE + 14;
      long second = TestMachine.CODE + 20;
      assertThat(m.cpu.instruction(first).text).isEqualTo("mov eax, 1");
      assertThat(m.cpu.instruction(second).text).isEqualTo("ud2");
      List<Long> seen = new ArrayList<>();
      m.cpu.addHook(first, cpu -> {
        seen.add(cpu.state().rip());
        cpu.returnFromFunction(42);
        return PcHook.Result.CONTINUE;
      });
      m.cpu.addHook(second, cpu -> PcHook.Result.stop("would sleep"));
      Stop stop = m.run();
      assertThat(seen).containsExactly(first);
      assertThat(m.reg(RBX)).isEqualTo(42);
      assertThat(stop.reason()).isEqualTo(Stop.Reason.HOOK);
      assertThat(stop.pc()).isEqualTo(second);
      assertThat(stop.detail()).isEqualTo("would sleep");
      m.cpu.removeHook(second);
      assertThat(m.run().fault().vector()).isEqualTo(Fault.UD); // without the hook, the ud2 runs
    }
  }

  /**
   * Hooks at two pcs that share a slot of the run loop's hook filter each run their own hook (the filter keeps one
   * hook per slot, and the map for slots that several pcs share); a hook added again at its pc replaces the old one.
   */
  @Test
  void hooksSharingAFilterSlotEachRunTheirOwn() throws Exception {
    long first = TestMachine.CODE + 18; // call 1f: 5 bytes; mov rbx, rax: 3; mov r8d, imm32: 6; call r8: 3; hlt: 1
    long second = 0x14000;
    while (Cpu.hookSlot(second) != Cpu.hookSlot(first)) {
      second++;
    }
    try (TestMachine m = new TestMachine("call 1f; mov rbx, rax; mov r8d, " + second + "; call r8; hlt; 1: ud2")) {
      m.image.put(second, GnuAssembler.assemble("ud2")).map(second & -4096, 0x1000);
      assertThat(m.cpu.instruction(first).text).isEqualTo("ud2");
      m.cpu.addHook(first, cpu -> {
        cpu.returnFromFunction(20);
        return PcHook.Result.CONTINUE;
      });
      m.cpu.addHook(second, cpu -> {
        cpu.returnFromFunction(22);
        return PcHook.Result.CONTINUE;
      });
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(m.reg(RBX)).isEqualTo(20);
      assertThat(m.reg(RAX)).isEqualTo(22);
      m.cpu.removeHook(second);
      m.cpu.addHook(first, cpu -> {
        cpu.returnFromFunction(30);
        return PcHook.Result.CONTINUE;
      });
      m.state.setRip(TestMachine.CODE);
      assertThat(m.run().fault().vector()).as("the second pc's ud2, no longer hooked").isEqualTo(Fault.UD);
      assertThat(m.reg(RBX)).isEqualTo(30);
    }
  }
}
