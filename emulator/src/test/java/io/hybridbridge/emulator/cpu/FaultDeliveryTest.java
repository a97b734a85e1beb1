package io.hybridbridge.emulator.cpu;

import static io.hybridbridge.emulator.decode.Reg.RAX;
import static io.hybridbridge.emulator.decode.Reg.RBX;
import static io.hybridbridge.emulator.decode.Reg.RCX;
import static io.hybridbridge.emulator.decode.Reg.RDX;
import static io.hybridbridge.emulator.decode.Reg.RSP;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Faults reach the handler with the state at the faulting instruction, and the run can resume at a fixup. */
class FaultDeliveryTest {
  /** Like an exception-table fixup: on a fault at the given pc, set RAX = -14 (EFAULT) and go to fixup. */
  private static FaultHandler fixup(long faultingPc, long fixupPc, List<Fault> log, List<CpuState> states) {
    return (cpu, fault) -> {
      log.add(fault);
      states.add(cpu.state().copy());
      if (fault.pc() != faultingPc) {
        return FaultHandler.Action.STOP;
      }
      cpu.state().set(RAX, -14);
      cpu.state().setRip(fixupPc);
      return FaultHandler.Action.RESUME;
    };
  }

  @Test
  void pageFaultIsPreciseAndResumesAtTheFixup() throws Exception {
    // +0 mov rbx, 7 (7 bytes); +7 push rax (1); +8 mov rax, [rdx] (3) faults; +11 hlt; +12 fixup: mov ecx, 1; hlt
    try (TestMachine m = new TestMachine("mov rbx, 7; push rax; mov rax, [rdx]; hlt; mov ecx, 1; hlt")) {
      List<Fault> faults = new ArrayList<>();
      List<CpuState> states = new ArrayList<>();
      long pc = TestMachine.CODE + 8;
      m.cpu.setFaultHandler(fixup(pc, TestMachine.CODE + 12, faults, states));
      m.state.set(RDX, 0x7fff0000_1234L);
      m.state.set(RAX, 99);
      Stop stop = m.run();
      assertThat(stop.reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(faults).hasSize(1);
      Fault f = faults.get(0);
      assertThat(f.vector()).isEqualTo(Fault.PF);
      assertThat(f.pc()).isEqualTo(pc);
      assertThat(f.address()).isEqualTo(0x7fff0000_1234L);
      assertThat(f.errorCode() & 2).isZero(); // a read
      CpuState at = states.get(0);
      assertThat(at.rip()).isEqualTo(pc);
      assertThat(at.cr(2)).isEqualTo(0x7fff0000_1234L);
      assertThat(at.get(RAX)).isEqualTo(99);
      assertThat(at.get(RBX)).isEqualTo(7);
      assertThat(at.get(RSP)).isEqualTo(TestMachine.STACK + 0x1000 - 8);
      assertThat(m.reg(RAX)).isEqualTo(-14);
      assertThat(m.reg(RCX)).isEqualTo(1);
    }
  }

  @Test
  void faultingWritesAndStackOperationsChangeNothing() throws Exception {
    for (String insn : new String[] {"push rax", "call rax", "xadd [rdx], rax", "lock cmpxchg16b [rdx]",
        "mov qword ptr [rdx], 1", "rep movsb", "pop qword ptr [rdx]"}) {
      try (TestMachine m = new TestMachine(insn)) {
        m.state.set(RAX, 0x10000);
        m.state.set(RDX, 0x7000_0000L);
        m.state.set(RCX, 4);
        m.state.set(io.hybridbridge.emulator.decode.Reg.RSI, TestMachine.DATA);
        m.state.set(io.hybridbridge.emulator.decode.Reg.RDI, 0x7000_0000L);
        if (insn.startsWith("push") || insn.startsWith("call")) {
          m.state.set(RSP, 0x7000_0000L);
        }
        long[] before = m.state.snapshot();
        Stop stop = m.run();
        assertThat(stop.reason()).as(insn).isEqualTo(Stop.Reason.FAULT);
        assertThat(stop.fault().vector()).as(insn).isEqualTo(Fault.PF);
        assertThat(m.state.snapshot()).as(insn).isEqualTo(before);
      }
    }
  }

  @Test
  void pageCrossingWriteFaultLeavesTheFirstPageUnwritten() throws Exception {
    try (TestMachine m = new TestMachine("mov qword ptr [rdx], rax")) {
      long last = TestMachine.DATA + 0x4000 - 4; // the next page is not mapped
      m.state.set(RDX, last);
      m.state.set(RAX, -1);
      Stop stop = m.run();
      assertThat(stop.fault().address()).isEqualTo(TestMachine.DATA + 0x4000);
      assertThat(m.memory.read(last, 4)).isZero();
    }
  }

  @Test
  void ud2WarnContinuesAfterItAndDivideErrorIsReported() throws Exception {
    try (TestMachine m = new TestMachine("ud2; mov eax, 5; div rcx")) {
      List<Fault> faults = new ArrayList<>();
      m.cpu.setFaultHandler((cpu, fault) -> {
        faults.add(fault);
        if (fault.vector() == Fault.UD) {
          cpu.state().setRip(fault.pc() + 2); // a WARN: log it and continue after the ud2
          return FaultHandler.Action.RESUME;
        }
        return FaultHandler.Action.STOP;
      });
      Stop stop = m.run();
      assertThat(faults).extracting(Fault::vector).containsExactly(Fault.UD, Fault.DE);
      assertThat(stop.reason()).isEqualTo(Stop.Reason.FAULT);
      assertThat(stop.fault().pc()).isEqualTo(TestMachine.CODE + 7);
      assertThat(stop.detail()).contains("#DE");
      assertThat(m.reg(RAX)).isEqualTo(5);
    }
  }

  @Test
  void fetchFromAnUnmappedPageIsAnInstructionFetchFault() throws Exception {
    try (TestMachine m = new TestMachine("jmp rax")) {
      m.state.set(RAX, 0x5000_0000L);
      Stop stop = m.run();
      assertThat(stop.fault().vector()).isEqualTo(Fault.PF);
      assertThat(stop.fault().pc()).isEqualTo(0x5000_0000L);
      assertThat(stop.fault().errorCode() & 16).isEqualTo(16); // I/D: instruction fetch
    }
  }

  @Test
  void instructionRunningIntoAnUnmappedPageFaultsOnThatPage() throws Exception {
    try (TestMachine m = new TestMachine("nop")) {
      long start = TestMachine.CODE + 0x2000 - 3; // last 3 bytes of the mapped code
      m.image.put(start, new byte[] {0x48, (byte) 0xb8, 0x11}); // movabs rax, imm64: 10 bytes
      m.state.setRip(start);
      Stop stop = m.run();
      assertThat(stop.fault().vector()).isEqualTo(Fault.PF);
      assertThat(stop.fault().address()).isEqualTo(TestMachine.CODE + 0x2000);
    }
  }

  @Test
  void invalidOpcodeIsUd() throws Exception {
    for (String bytes : new String[] {".byte 0x0f, 0xff, 0xc0", ".byte 0x06", ".byte 0x0f, 0x0b"}) {
      try (TestMachine m = new TestMachine(bytes)) {
        Stop stop = m.run();
        assertThat(stop.reason()).as(bytes).isEqualTo(Stop.Reason.FAULT);
        assertThat(stop.fault().vector()).as(bytes).isEqualTo(Fault.UD);
      }
    }
  }

  @Test
  void nonCanonicalAddressIsGpAndABrokenPageTableIsAMemoryError() throws Exception {
    try (TestMachine m = new TestMachine("mov rax, [rdx]")) {
      m.memory.setTranslator((va, access) -> {
        throw new io.hybridbridge.emulator.memory.PageFaultException("non-canonical", va, 0,
            io.hybridbridge.emulator.memory.PageFaultException.Kind.NON_CANONICAL);
      });
      m.state.set(RDX, 0x8000_0000_0000_0000L);
      Stop stop = m.run();
      assertThat(stop.fault().vector()).isEqualTo(Fault.GP);
    }
    try (TestMachine m = new TestMachine("nop; mov rax, [rdx]")) {
      m.cpu.instruction(TestMachine.CODE + 1); // decoded while the tables are sane
      m.memory.setTranslator((va, access) -> {
        throw new io.hybridbridge.emulator.memory.PageFaultException("table outside image", va, 0,
            io.hybridbridge.emulator.memory.PageFaultException.Kind.TABLE_OUTSIDE_IMAGE);
      });
      m.state.setRip(TestMachine.CODE + 1);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.MEMORY_ERROR);
    }
  }

  @Test
  void imageThatCannotServeAPageIsAMemoryError() throws Exception {
    try (TestMachine m = new TestMachine("mov rax, [rdx]")) {
      m.memory.setTranslator((va, access) -> va >= 0x900000 ? 0x7770000 : va); // a frame the image lacks
      m.state.set(RDX, 0x900000);
      Stop stop = m.run();
      assertThat(stop.reason()).isEqualTo(Stop.Reason.MEMORY_ERROR);
      assertThat(stop.detail()).contains("no page");
    }
  }
}
