package io.hybridbridge.emulator.cpu;

import static io.hybridbridge.emulator.decode.Reg.R10;
import static io.hybridbridge.emulator.decode.Reg.R8;
import static io.hybridbridge.emulator.decode.Reg.R9;
import static io.hybridbridge.emulator.decode.Reg.RAX;
import static io.hybridbridge.emulator.decode.Reg.RBX;
import static io.hybridbridge.emulator.decode.Reg.RCX;
import static io.hybridbridge.emulator.decode.Reg.RDI;
import static io.hybridbridge.emulator.decode.Reg.RDX;
import static io.hybridbridge.emulator.decode.Reg.RSI;
import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.decode.MemoryRole;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The executor's semantics carry a pluggable shadow: a toy byte-granular taint domain, written here and not
 * in the executor, sees dataflow through mov, add, xor-clearing, extension and memory (including an address
 * that depends on tainted data), and a router picks the address space of each access.
 */
class ShadowDomainTest {
  /** Byte-granular taint: bit i of a shadow = byte i of the value depends on tainted input. */
  static final class ToyTaint implements Shadow {
    final long[] registers = new long[16];
    final Set<Long> memory = new HashSet<>();
    final List<String> accesses = new ArrayList<>();
    long flags;

    static long bytes(int size) {
      return size >= 8 ? 0xff : (1L << size) - 1;
    }

    @Override
    public long register(int reg, int offset, int size) {
      return (registers[reg] >>> offset) & bytes(size);
    }

    @Override
    public void setRegister(int reg, int offset, int size, long shadow) {
      long keep = size == 4 || size == 8 ? 0 : registers[reg] & ~(bytes(size) << offset);
      registers[reg] = keep | ((shadow & bytes(size)) << offset);
    }

    @Override
    public long load(MemoryAccess a) {
      accesses.add("%s op%d 0x%x/%d space%d addr-shadow=%x".formatted(a.role(), a.operand(), a.address(),
          a.size(), a.space(), a.addressShadow()));
      long s = a.addressShadow() != 0 ? bytes(a.size()) : 0; // an address from tainted data taints the value
      for (int i = 0; i < a.size(); i++) {
        if (memory.contains(a.address() + i)) {
          s |= 1L << i;
        }
      }
      return s;
    }

    @Override
    public void store(MemoryAccess a, long shadow) {
      accesses.add("%s op%d 0x%x/%d space%d".formatted(a.role(), a.operand(), a.address(), a.size(), a.space()));
      for (int i = 0; i < a.size(); i++) {
        if ((shadow >>> i & 1) != 0) {
          memory.add(a.address() + i);
        } else {
          memory.remove(a.address() + i);
        }
      }
    }

    @Override
    public long combine(ShadowOp op, int size, long a, long b) {
      long union = (a | b) & bytes(size);
      switch (op) {
        case AND: case OR: case XOR: case NOT:
          return union;
        case ADD: case SUB: case NEG:
          return union == 0 ? 0 : bytes(size) & ~((Long.lowestOneBit(union)) - 1); // carries go up
        default:
          return union == 0 ? 0 : bytes(size);
      }
    }

    @Override
    public long extend(long shadow, int fromSize, int toSize, boolean signed) {
      long s = shadow & bytes(fromSize);
      return signed && (s >>> (fromSize - 1) & 1) != 0 ? s | (bytes(toSize) & ~bytes(fromSize)) : s;
    }

    @Override
    public long slice(long shadow, int offset, int size) {
      return (shadow >>> offset) & bytes(size);
    }

    @Override
    public void setFlags(long shadow) {
      flags = shadow;
    }

    @Override
    public long fromFlags(int size) {
      return flags == 0 ? 0 : bytes(size);
    }
  }

  @Test
  void taintFlowsThroughMovAddXorClearAndMemory() throws Exception {
    String code = String.join("; ",
        "mov rax, [rdi]", // rax <- tainted qword (a pointer)
        "mov rbx, 5",
        "add rbx, rax", // rbx tainted
        "mov ecx, eax", // bytes 0..3 tainted, 4..7 cleared by the zero extension
        "mov r10, [rax]", // the address depends on tainted rax: the loaded value is tainted
        "xor eax, eax", // cleared, not propagated
        "mov [rsi], rbx", // memory tainted
        "mov dl, [rdi+1]", // one tainted byte into dl
        "movzx r8d, byte ptr [rdi+2]", // one tainted byte, zero-extended: only byte 0
        "mov r9, [rsi+16]", // clean memory stays clean
        "hlt");
    try (TestMachine m = new TestMachine(code)) {
      long tainted = TestMachine.DATA;
      m.image.put(tainted, CpuBenchmark.le(TestMachine.DATA + 0x800));
      m.state.set(RDI, tainted);
      m.state.set(RSI, TestMachine.DATA + 0x100);
      m.state.set(RDX, -1);
      ToyTaint taint = new ToyTaint();
      for (int i = 0; i < 8; i++) {
        taint.memory.add(tainted + i);
      }
      m.cpu.setShadow(taint);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);

      assertThat(m.reg(RBX)).isEqualTo(TestMachine.DATA + 0x800 + 5); // the concrete results are the same
      assertThat(taint.registers[RBX]).isEqualTo(0xff);
      assertThat(taint.registers[RCX]).isEqualTo(0x0f);
      assertThat(taint.registers[R10]).isEqualTo(0xff);
      assertThat(taint.registers[RAX]).isZero();
      assertThat(taint.registers[RDX]).isEqualTo(0x01);
      assertThat(taint.registers[R8]).isEqualTo(0x01);
      assertThat(taint.registers[R9]).isZero();
      for (int i = 0; i < 8; i++) {
        assertThat(taint.memory).contains(TestMachine.DATA + 0x100 + i);
      }
      assertThat(taint.accesses).contains(
          "READ op1 0x%x/8 space0 addr-shadow=0".formatted(tainted),
          "READ op1 0x%x/8 space0 addr-shadow=ff".formatted(TestMachine.DATA + 0x800),
          "WRITE op0 0x%x/8 space0".formatted(TestMachine.DATA + 0x100));
    }
  }

  @Test
  void routerChoosesTheAddressSpaceOfEachAccess() throws Exception {
    // +0 mov rax, [rdi] (3 bytes); +3 mov [rdi+8], rax (4); +7 push qword ptr [rdi]; +9 pop rcx; +10 hlt
    try (TestMachine m = new TestMachine("mov rax, [rdi]; mov [rdi+8], rax; push qword ptr [rdi]; pop rcx; hlt")) {
      m.image.put(TestMachine.DATA, CpuBenchmark.le(111));
      SparseImage other = new SparseImage().put(TestMachine.DATA, CpuBenchmark.le(222));
      PagedMemory redirected = new PagedMemory(new FrameCache(other), other.identity());
      int space = m.cpu.addAddressSpace(redirected);
      List<String> seen = new ArrayList<>();
      m.cpu.setRouter(access -> {
        seen.add("pc+%d op%d %s %d".formatted(access.pc() - TestMachine.CODE, access.operand(), access.role(),
            access.size()));
        return access.pc() == TestMachine.CODE + 3 || access.pc() == TestMachine.CODE ? space : 0;
      });
      m.state.set(RDI, TestMachine.DATA);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(m.reg(RAX)).isEqualTo(222); // read from the redirected space
      assertThat(redirected.read(TestMachine.DATA + 8, 8)).isEqualTo(222); // written there
      assertThat(m.memory.read(TestMachine.DATA + 8, 8)).isZero(); // not locally
      assertThat(other.get(TestMachine.DATA + 8, 8)).containsOnly(0); // its image untouched
      assertThat(m.reg(RCX)).isEqualTo(111); // push [rdi] at +7 stayed local
      assertThat(seen).containsExactly("pc+0 op1 READ 8", "pc+3 op0 WRITE 8", "pc+7 op0 READ 8",
          "pc+7 op" + MemoryAccess.STACK + " WRITE 8", "pc+9 op" + MemoryAccess.STACK + " READ 8");
      assertThat(MemoryRole.READ_WRITE.reads()).isTrue();
    }
  }

  /** A router that sends every access to {@code space}, binds rep string operands, and records where it was asked. */
  private static AccessRouter bindingStrings(int space, List<String> seen) {
    return new AccessRouter() {
      @Override
      public int route(MemoryAccess access) {
        seen.add("pc+%d op%d".formatted(access.pc() - TestMachine.CODE, access.operand()));
        return space;
      }

      @Override
      public int bind(MemoryAccess access) {
        return space;
      }
    };
  }

  @Test
  void aBoundRepStringOperandIsRoutedOncePerExecution() throws Exception {
    // +0 rep stosb (2 bytes); +2 stosb; +3 hlt
    try (TestMachine m = new TestMachine("rep stosb; stosb; hlt")) {
      SparseImage other = new SparseImage().map(TestMachine.DATA, 0x1000);
      PagedMemory redirected = new PagedMemory(new FrameCache(other), other.identity());
      int space = m.cpu.addAddressSpace(redirected);
      List<String> seen = new ArrayList<>();
      m.cpu.setRouter(bindingStrings(space, seen));
      m.state.set(RDI, TestMachine.DATA);
      m.state.set(RCX, 5);
      m.state.set(RAX, 7);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      String destination = " op" + MemoryAccess.STRING_DESTINATION;
      assertThat(seen).containsExactly("pc+0" + destination, "pc+2" + destination); // not 5 times at +0
      assertThat(redirected.read(TestMachine.DATA, 8)).isEqualTo(0x070707070707L); // all six bytes there
      assertThat(m.memory.read(TestMachine.DATA, 8)).isZero();
    }
  }

  @Test
  void aBoundRepStoreStopsAtTheBudgetAndResumes() throws Exception {
    try (TestMachine m = new TestMachine("rep stosq; hlt")) {
      List<String> seen = new ArrayList<>();
      m.cpu.setRouter(bindingStrings(0, seen));
      m.state.set(RDI, TestMachine.DATA);
      m.state.set(RCX, 5);
      m.state.set(RAX, 0x1122334455667788L);
      Stop stop = m.cpu.run(3);
      assertThat(stop.reason()).isEqualTo(Stop.Reason.BUDGET_EXHAUSTED);
      assertThat(stop.instructions()).isEqualTo(3);
      assertThat(m.reg(RCX)).isEqualTo(2);
      assertThat(m.reg(RDI)).isEqualTo(TestMachine.DATA + 24);
      assertThat(m.memory.read(TestMachine.DATA + 16, 8)).isEqualTo(0x1122334455667788L);
      assertThat(m.memory.read(TestMachine.DATA + 24, 8)).isZero();
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED); // the same instruction goes on
      assertThat(m.reg(RCX)).isZero();
      assertThat(m.memory.read(TestMachine.DATA + 32, 8)).isEqualTo(0x1122334455667788L);
      assertThat(m.memory.read(TestMachine.DATA + 40, 8)).isZero();
      assertThat(seen).hasSize(2); // 5 stores: the first of each run routed, then bound
    }
  }

  @Test
  void aRepThatFaultsLeavesNoBindingToTheNextStringInstruction() throws Exception {
    try (TestMachine m = new TestMachine("rep stosb; stosb; hlt")) {
      List<String> seen = new ArrayList<>();
      m.cpu.setRouter(bindingStrings(0, seen));
      m.state.set(RDI, TestMachine.DATA + 0x4000 - 2); // the third byte is past the mapped data
      m.state.set(RCX, 5);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.FAULT);
      assertThat(m.reg(RCX)).as("iterations left at the fault").isEqualTo(3);
      assertThat(m.reg(RDI)).as("the faulting byte's address").isEqualTo(TestMachine.DATA + 0x4000);
      m.state.setRip(TestMachine.CODE + 2);
      m.state.set(RDI, TestMachine.DATA);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      String destination = " op" + MemoryAccess.STRING_DESTINATION;
      assertThat(seen).containsExactly("pc+0" + destination, "pc+2" + destination);
    }
  }

  /** A router of binding scope {@code scope} that counts its routings and binds [rdi] to {@code readSpace}. */
  private static AccessRouter scoped(Object scope, int readSpace, int[] routed) {
    return new AccessRouter() {
      @Override
      public int route(MemoryAccess access) {
        routed[0]++;
        return access.operand() >= 0 ? readSpace : 0;
      }

      @Override
      public int bind(MemoryAccess access) {
        return access.operand() >= 0 ? readSpace : 0;
      }

      @Override
      public Object bindingScope() {
        return scope;
      }
    };
  }

  /** Runs the translated block of m from its start with {@code router}; the routings it made. */
  private static int runTranslated(TestMachine m, AccessRouter router, int[] routed) {
    routed[0] = 0;
    m.cpu.setRouter(router);
    m.state.setRip(TestMachine.CODE);
    m.state.set(RDI, TestMachine.DATA);
    assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
    return routed[0];
  }

  @Test
  void localBindingsOutliveTheirRouterForTheNextRouterOfItsScope() throws Exception {
    // one translated block: a read at [rdi], a push and a pop (stack: local); then hlt, which the run loop interprets
    try (TestMachine m = new TestMachine("mov rax, [rdi]; push rax; pop rcx; hlt")) {
      m.image.put(TestMachine.DATA, CpuBenchmark.le(111));
      SparseImage other = new SparseImage().map(TestMachine.DATA, 0x1000);
      int space = m.cpu.addAddressSpace(new PagedMemory(new FrameCache(other), other.identity()));
      m.cpu.setTranslation(true);
      m.cpu.translate(List.of(TestMachine.CODE));
      assertThat(m.cpu.translatedBlocks()).isEqualTo(1);
      int[] routed = new int[1];
      Object table = new Object();
      assertThat(runTranslated(m, scoped(table, 0, routed), routed)).isEqualTo(3); // each site once, then bound
      assertThat(runTranslated(m, scoped(table, 0, routed), routed)).isZero(); // a new router of the same scope
      assertThat(runTranslated(m, scoped(null, 0, routed), routed)).isEqualTo(3); // no scope: its own bindings
      assertThat(runTranslated(m, scoped(null, 0, routed), routed)).isEqualTo(3); // ...which the next one has not
      assertThat(runTranslated(m, scoped(table, 0, routed), routed)).isZero(); // the scope's were kept meanwhile
      Object redirecting = new Object();
      assertThat(runTranslated(m, scoped(redirecting, space, routed), routed)).isEqualTo(3);
      assertThat(runTranslated(m, scoped(redirecting, space, routed), routed)).isEqualTo(1); // only the local ones kept
      assertThat(m.reg(RAX)).isZero(); // [rdi] read from the other space (111 in the local one)
      assertThat(runTranslated(m, scoped(null, space, routed), routed)).isEqualTo(3); // redirecting, no scope
      assertThat(runTranslated(m, scoped(table, 0, routed), routed)).isZero(); // kept: all local
      assertThat(m.reg(RAX)).isEqualTo(111); // no redirection left bound by the router before
    }
  }

  @Test
  void theShadowDomainDoesNotChangeConcreteResults() throws Exception {
    SparseImage image = CpuBenchmark.image();
    long[][] results = new long[2][];
    byte[][] memories = new byte[2][];
    for (int run = 0; run < 2; run++) {
      PagedMemory memory = new PagedMemory(new FrameCache(image), image.identity());
      CpuState state = CpuBenchmark.initialState(3);
      try (Cpu cpu = new Cpu(state, memory, new DecodeCache("benchmark"))) {
        if (run == 1) {
          ToyTaint taint = new ToyTaint();
          taint.memory.add(CpuBenchmark.DATA + 0x2000); // a tainted source byte
          cpu.setShadow(taint);
        }
        assertThat(cpu.run(10_000_000).reason()).isEqualTo(Stop.Reason.HALTED);
      }
      results[run] = state.snapshot();
      memories[run] = new byte[0x10000];
      memory.read(CpuBenchmark.DATA, memories[run], 0, 0x10000);
    }
    assertThat(results[1]).isEqualTo(results[0]);
    assertThat(memories[1]).isEqualTo(memories[0]);
  }
}
