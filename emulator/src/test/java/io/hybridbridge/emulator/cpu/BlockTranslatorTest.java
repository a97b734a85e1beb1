package io.hybridbridge.emulator.cpu;

import static io.hybridbridge.emulator.decode.Reg.RAX;
import static io.hybridbridge.emulator.decode.Reg.RBX;
import static io.hybridbridge.emulator.decode.Reg.RCX;
import static io.hybridbridge.emulator.decode.Reg.RDI;
import static io.hybridbridge.emulator.decode.Reg.RDX;
import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.decode.Instruction;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How translated blocks are grouped into methods the JIT compiles (the semantics: {@code DifferentialTest}). */
class BlockTranslatorTest {
  /** Blocks of the programs below, each ending with a branch to the next. */
  private static final int BLOCKS = 150;
  /** Each block reads, adds and writes (%d: an offset into the data, then one into its second page). */
  private static final String MEMORY = "add rax, [rdi + %d]; mov [rdi + %d], rax; test rax, rax; jnz 1f; 1: ";
  /** Each block adds registers only: a region of these holds hundreds of instructions. */
  private static final String REGISTERS = "inc rcx; add rax, rcx; inc rdx; add rbx, rdx; test rax, rax; jnz 1f; 1: ";

  @Test
  void readsTheLengthOfAMethodsBytecodeFromItsClassFile() throws Exception {
    byte[] cpu;
    try (InputStream in = Cpu.class.getResourceAsStream("Cpu.class")) {
      cpu = in.readAllBytes();
    }
    assertThat(BlockTranslator.codeLength(cpu, "state")).isEqualTo(5); // aload_0; getfield; areturn
  }

  /**
   * The region budget widened so that the estimate puts all the blocks in one method of over 32,000 bytes: each
   * region whose method came out over the JIT's limit is split again, and the code still computes what the
   * interpreter computes.
   */
  @Test
  void regionsOverTheJitsLimitAreSplitUntilTheyFit() throws Exception {
    long[] sums = new long[2];
    for (boolean translated : new boolean[] {false, true}) {
      try (TestMachine m = machine(MEMORY, translated, 60_000)) {
        if (translated) {
          Set<Object> regions = Collections.newSetFromMap(new IdentityHashMap<>());
          int bytecode = 0;
          for (long start : blockStarts(m)) {
            BlockTranslator.Block block = m.cpu.translatedBlock(start);
            assertThat(block.regionBytecode()).isBetween(1, BlockTranslator.HUGE_METHOD);
            if (regions.add(block.region())) {
              bytecode += block.regionBytecode();
            }
          }
          assertThat(bytecode).as("bytecode of all the regions").isGreaterThan(4 * BlockTranslator.HUGE_METHOD);
          assertThat(regions).as("regions").hasSizeGreaterThanOrEqualTo(bytecode / BlockTranslator.HUGE_METHOD + 1);
        }
        assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
        sums[translated ? 1 : 0] = m.reg(RAX);
        assertThat(m.memory.read(TestMachine.DATA + 4096 + 8 * (BLOCKS - 1), 8)).isEqualTo(m.reg(RAX));
      }
    }
    assertThat(sums[0]).isEqualTo(BLOCKS * (BLOCKS + 1) / 2);
    assertThat(sums[1]).isEqualTo(sums[0]);
  }

  /**
   * The hot starts a fast path asks for after every inspection are counted as they run: the answers agree with what
   * the starts' counts say, for the threshold asked before, another one, and after a translation.
   */
  @Test
  void pendingBlocksAreTheStartsThatRanOftenEnough() throws Exception {
    try (TestMachine m = new TestMachine("mov rcx, 100; 1: dec rcx; jnz 1b; hlt")) {
      m.cpu.setTranslation(true);
      assertThat(m.cpu.pendingBlocks(50)).isZero();
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED); // the loop's start ran 99 times
      assertThat(m.cpu.pendingBlocks(50)).isEqualTo(1);
      assertThat(m.cpu.pendingBlocks(1)).isEqualTo(3); // the program's start, the loop's, hlt's
      m.state.setRip(TestMachine.CODE);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED); // 198 times
      assertThat(m.cpu.pendingBlocks(1)).isEqualTo(3);
      assertThat(m.cpu.pendingBlocks(198)).isEqualTo(1);
      assertThat(m.cpu.pendingBlocks(199)).isZero();
      assertThat(m.cpu.translatePending(150)).hasSize(1);
      assertThat(m.cpu.pendingBlocks(1)).isEqualTo(2);
      assertThat(m.cpu.pendingBlocks(150)).isZero();
    }
  }

  /**
   * Regions are grouped along the hottest edges first: a loop of two blocks stays in one method even when the block
   * before it in memory, which jumps into it once, would fill that method. Grouped in address order, the cold block
   * and the loop's first block shared the method and the loop left it on every iteration.
   */
  @Test
  void aHotLoopIsOneRegionEvenWhenAColdBlockBeforeItWouldFillIt() throws Exception {
    String program = "inc rdx; ".repeat(20) + "jmp 2f; 2: inc rax; jmp 3f; 3: dec rcx; jnz 2b; hlt";
    long loop = TestMachine.CODE + 20 * 3 + 2; // inc rdx: 3 bytes; jmp 2f: 2
    long back = loop + 3 + 2; // inc rax: 3 bytes
    int budget;
    try (TestMachine sizes = new TestMachine(program)) {
      sizes.cpu.translate(List.of(TestMachine.CODE, loop, back));
      budget = sizes.cpu.translatedBlock(TestMachine.CODE).estimatedBytecode()
          + sizes.cpu.translatedBlock(loop).estimatedBytecode()
          + sizes.cpu.translatedBlock(back).estimatedBytecode() - 1; // room for the cold block and one of the loop's
    }
    try (TestMachine m = new TestMachine(program)) {
      m.state.set(RCX, 300);
      m.cpu.setTranslation(true);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED); // interpreted, counting the starts
      int before = BlockTranslator.regionBytecode;
      BlockTranslator.regionBytecode = budget;
      try {
        long halt = back + 3 + 2; // dec rcx: 3 bytes; jnz 2b: 2 (no block: hlt cannot be in one)
        assertThat(m.cpu.translatePending(1)).containsExactly(loop, back, TestMachine.CODE, halt); // hottest first
      } finally {
        BlockTranslator.regionBytecode = before;
      }
      Object loopRegion = m.cpu.translatedBlock(loop).region();
      assertThat(m.cpu.translatedBlock(back).region()).isSameAs(loopRegion);
      assertThat(m.cpu.translatedBlock(TestMachine.CODE).region()).isNotSameAs(loopRegion);
      m.state.set(RCX, 300);
      m.state.setRip(TestMachine.CODE);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(m.reg(RAX)).isEqualTo(600);
    }
  }

  /**
   * A run's budget holds inside regions, in blocks that fall into the next one too: translated, a run stops at exactly
   * the instruction an interpreted run with the same budget stops at.
   */
  @Test
  void aBudgetStopsTranslatedCodeWhereItStopsTheInterpreter() throws Exception {
    for (int budget : new int[] {1, 63, 64, 65, 200, 301, 599}) {
      long[][] states = new long[2][];
      for (boolean translated : new boolean[] {false, true}) {
        try (TestMachine m = machine(REGISTERS, translated, BlockTranslator.regionBytecode)) {
          Stop stop = m.cpu.run(budget);
          assertThat(stop.reason()).isEqualTo(Stop.Reason.BUDGET_EXHAUSTED);
          assertThat(m.cpu.instructionsRetired()).isEqualTo(budget);
          states[translated ? 1 : 0] = m.state.snapshot();
        }
      }
      assertThat(states[1]).as("state after %d instructions", budget).isEqualTo(states[0]);
    }
  }

  /**
   * A translated block and a start with none share a slot of the run loop's cache of blocks: the loop returns to the
   * block on every iteration and calls the other start, which is still counted for translation each time, and is
   * translated in its turn. The program computes the same all along.
   */
  @Test
  void aTranslatedBlockAndAStartWithoutOneShareTheRunLoopsCacheSlot() throws Exception {
    long loop = TestMachine.CODE + 5; // mov ecx, 100: 5 bytes
    long returned = loop + 6 + 3; // mov r8d, imm32: 6 bytes; call r8: 3
    long callee = 0x14000;
    while (Cpu.blockSlot(callee) != Cpu.blockSlot(returned)) {
      callee++;
    }
    String program = "mov ecx, 100; 1: mov r8d, " + callee + "; call r8; dec ecx; jnz 1b; hlt";
    try (TestMachine m = new TestMachine(program)) {
      m.image.put(callee, GnuAssembler.assemble("inc rax; ret")).map(callee & -4096, 0x2000);
      m.cpu.setTranslation(true);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED); // interpreted, counting the starts
      assertThat(m.reg(RAX)).isEqualTo(100);
      assertThat(m.cpu.translate(List.of(TestMachine.CODE, loop, returned))).isEqualTo(3);
      m.state.set(RAX, 0);
      m.state.setRip(TestMachine.CODE);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(m.reg(RAX)).isEqualTo(100);
      assertThat(m.cpu.pendingBlocks(200)).as("the callee's start, counted in both runs").isEqualTo(1);
      assertThat(m.cpu.translatePending(200)).containsExactly(callee);
      m.state.set(RAX, 0);
      m.state.setRip(TestMachine.CODE);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(m.reg(RAX)).isEqualTo(100);
      assertThat(m.cpu.translatedBlock(callee)).isNotNull();
    }
  }

  /**
   * A translated call to a hooked function runs the hook in the region when the hook stands in for the function
   * ({@link PcHook#standsIn}), and goes on where it returned to; any other hook is the run loop's. Either way the
   * program computes what the interpreter computes and retires as many instructions (the hook none), and a budget,
   * which counts the hook as one instruction, stops it where it stops the interpreter.
   */
  @Test
  void aCallToAHookThatStandsInForItsFunctionStaysInTheRegion() throws Exception {
    String program = "1: call 2f; add rbx, rax; dec ecx; jnz 1b; hlt; 2: mov rax, -1; ret";
    long callee = TestMachine.CODE + 5 + 3 + 2 + 2 + 1; // call: 5; add: 3; dec: 2; jnz: 2; hlt
    List<Boolean> inRegion = new ArrayList<>();
    PcHook.StandIn returnRcx = cpu -> {
      inRegion.add(StackWalker.getInstance(StackWalker.Option.SHOW_HIDDEN_FRAMES).walk(frames -> frames.anyMatch(
          f -> f.getClassName().contains("TranslatedRegion"))));
      cpu.returnFromFunction(cpu.state().get(RCX));
    };
    PcHook plain = cpu -> {
      returnRcx.run(cpu);
      return PcHook.Result.CONTINUE;
    };
    for (boolean standsIn : new boolean[] {true, false}) {
      try (TestMachine m = new TestMachine(program); TestMachine interpreter = new TestMachine(program)) {
        m.cpu.addHook(callee, standsIn ? PcHook.standIn(returnRcx) : plain);
        interpreter.cpu.addHook(callee, plain);
        m.state.set(RCX, 100);
        m.cpu.setTranslation(true);
        assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED); // interpreted, counting the starts
        long interpreted = m.cpu.instructionsRetired();
        assertThat(m.reg(RBX)).isEqualTo(5050);
        assertThat(m.cpu.translatePending(50)).isNotEmpty();
        inRegion.clear();
        m.state.set(RBX, 0);
        m.state.set(RCX, 100);
        m.state.setRip(TestMachine.CODE);
        assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
        assertThat(m.reg(RBX)).isEqualTo(5050);
        assertThat(m.cpu.instructionsRetired()).isEqualTo(2 * interpreted);
        assertThat(inRegion).as("the hook ran in a region").hasSize(100).containsOnly(standsIn);
        for (int budget : new int[] {71, 200, 333}) {
          for (TestMachine run : List.of(m, interpreter)) {
            run.state.set(RBX, 0);
            run.state.set(RCX, 100);
            run.state.setRip(TestMachine.CODE);
            long retired = run.cpu.instructionsRetired();
            assertThat(run.cpu.run(budget).reason()).isEqualTo(Stop.Reason.BUDGET_EXHAUSTED);
            long hooks = (budget + 3) / 5; // an iteration is 5 steps of the budget, the hook its second
            assertThat(run.cpu.instructionsRetired() - retired).as("retired of %d", budget).isEqualTo(budget - hooks);
          }
          assertThat(m.state.snapshot()).as("state after a budget of %d", budget)
              .isEqualTo(interpreter.state.snapshot());
        }
      }
    }
  }

  /**
   * A small leaf function that two loops call, each in a region of its own, sits in one of the regions and is copied
   * into the other, so that neither loop's calls leave its region; both compute what the interpreter computes.
   */
  @Test
  void aLeafFunctionTwoRegionsCallIsCopiedIntoTheOther() throws Exception {
    String program = "mov ecx, 50; 1: call 3f; inc rbx; dec ecx; jnz 1b; "
        + "mov ecx, 50; 2: call 3f; add rdx, rax; dec ecx; jnz 2b; hlt; 3: inc rax; ret";
    long loopA = TestMachine.CODE + 5; // mov ecx: 5 bytes
    long backA = loopA + 5; // call: 5
    long loopB = backA + 3 + 2 + 2 + 5; // inc rbx: 3; dec ecx: 2; jnz: 2; mov ecx: 5
    long backB = loopB + 5;
    long leaf = backB + 3 + 2 + 2 + 1; // add rdx, rax: 3; dec ecx: 2; jnz: 2; hlt
    int budget;
    try (TestMachine sizes = new TestMachine(program)) {
      sizes.cpu.translate(List.of(loopA, backA, loopB, backB, leaf));
      budget = sizes.cpu.translatedBlock(loopA).estimatedBytecode() + sizes.cpu.translatedBlock(backA)
          .estimatedBytecode() + sizes.cpu.translatedBlock(leaf).estimatedBytecode(); // a loop and the leaf
    }
    try (TestMachine m = new TestMachine(program)) {
      m.cpu.setTranslation(true);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED); // interpreted, counting the starts
      long[] interpreted = m.state.snapshot();
      int before = BlockTranslator.regionBytecode;
      BlockTranslator.regionBytecode = budget;
      try {
        assertThat(m.cpu.translatePending(40)).containsExactlyInAnyOrder(loopA, backA, loopB, backB, leaf);
      } finally {
        BlockTranslator.regionBytecode = before;
      }
      assertThat(m.cpu.translatedBlock(loopA).region()).isNotSameAs(m.cpu.translatedBlock(loopB).region());
      assertThat(m.cpu.translatedBlock(loopA).regionHolds(leaf)).as("loop A's region holds the leaf").isTrue();
      assertThat(m.cpu.translatedBlock(loopB).regionHolds(leaf)).as("loop B's region holds the leaf").isTrue();
      m.state.set(RAX, 0);
      m.state.set(RBX, 0);
      m.state.set(RDX, 0);
      m.state.setRip(TestMachine.CODE);
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(m.reg(RDX)).isEqualTo(3775); // rax 51 to 100
      assertThat(m.state.snapshot()).isEqualTo(interpreted);
    }
  }

  /**
   * A region's class depends only on its blocks: a CPU translating the same starts of the same code finds it, in this
   * JVM or (once this JVM no longer has it) in the regions kept before, and compiles nothing; other code is compiled,
   * and so is a region whose kept class file is damaged (and kept again).
   */
  @Test
  void regionsCompiledOnceAreFoundAgainNotCompiled() throws Exception {
    Map<String, byte[]> kept = new HashMap<>();
    List<String> found = new ArrayList<>();
    CompiledRegions store = new CompiledRegions() {
      @Override
      public byte[] find(String key) {
        byte[] classFile = kept.get(key);
        if (classFile != null) {
          found.add(key);
        }
        return classFile;
      }

      @Override
      public void keep(String key, byte[] classFile) {
        kept.put(key, classFile);
      }
    };
    long interpreted;
    try (TestMachine m = machine(MEMORY, false, BlockTranslator.regionBytecode, CompiledRegions.NONE)) {
      assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
      interpreted = m.reg(RAX);
    }
    BlockTranslator.forgetDefined();
    try (TestMachine first = machine(MEMORY, true, BlockTranslator.regionBytecode, store)) {
      assertThat(first.cpu.regionsCompiled()).as("regions compiled").isPositive().isEqualTo(kept.size());
      try (TestMachine second = machine(MEMORY, true, BlockTranslator.regionBytecode, CompiledRegions.NONE)) {
        assertThat(second.cpu.regionsCompiled()).as("compiled again, the first CPU's regions live").isZero();
        assertThat(second.run().reason()).isEqualTo(Stop.Reason.HALTED);
        assertThat(second.reg(RAX)).isEqualTo(interpreted);
      }
    }
    BlockTranslator.forgetDefined();
    try (TestMachine third = machine(MEMORY, true, BlockTranslator.regionBytecode, store)) {
      assertThat(third.cpu.regionsCompiled()).as("compiled again, the regions kept").isZero();
      assertThat(found).as("regions found kept").hasSize(kept.size());
      assertThat(third.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(third.reg(RAX)).isEqualTo(interpreted);
    }
    kept.replaceAll((key, classFile) -> java.util.Arrays.copyOf(classFile, classFile.length / 2)); // damaged
    BlockTranslator.forgetDefined();
    try (TestMachine fourth = machine(MEMORY, true, BlockTranslator.regionBytecode, store)) {
      assertThat(fourth.cpu.regionsCompiled()).as("damaged kept regions compiled again").isEqualTo(kept.size());
      assertThat(fourth.run().reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(fourth.reg(RAX)).isEqualTo(interpreted);
    }
    BlockTranslator.forgetDefined();
    try (TestMachine fifth = machine(MEMORY, true, BlockTranslator.regionBytecode, store)) {
      assertThat(fifth.cpu.regionsCompiled()).as("compiled again, the regions kept anew").isZero();
    }
    try (TestMachine other = machine(REGISTERS, true, BlockTranslator.regionBytecode, store)) {
      assertThat(other.cpu.regionsCompiled()).as("regions of other code compiled").isPositive();
    }
  }

  private static TestMachine machine(String block, boolean translated, int regionBytecode) throws Exception {
    return machine(block, translated, regionBytecode, CompiledRegions.NONE);
  }

  /**
   * A machine running {@link #BLOCKS} copies of {@code block}, with its data; translated: all its blocks, grouped in
   * regions of {@code regionBytecode} bytes estimated.
   */
  private static TestMachine machine(String block, boolean translated, int regionBytecode, CompiledRegions kept)
      throws Exception {
    StringBuilder program = new StringBuilder();
    for (int k = 0; k < BLOCKS; k++) {
      program.append(String.format(block, 8 * k, 4096 + 8 * k));
    }
    TestMachine m = new TestMachine(program.append("hlt").toString());
    for (int k = 0; k < BLOCKS; k++) {
      m.image.put(TestMachine.DATA + 8 * k, CpuBenchmark.le(k + 1));
    }
    m.state.set(RDI, TestMachine.DATA);
    m.cpu.setTranslation(translated);
    m.cpu.setCompiledRegions(kept);
    if (translated) {
      int before = BlockTranslator.regionBytecode;
      BlockTranslator.regionBytecode = regionBytecode;
      try {
        assertThat(m.cpu.translate(blockStarts(m))).isEqualTo(BLOCKS);
      } finally {
        BlockTranslator.regionBytecode = before;
      }
    }
    return m;
  }

  /** The start of the program and the pc after each of its jnz but the last (which goes to the hlt). */
  private static Set<Long> blockStarts(TestMachine m) throws Exception {
    List<Long> after = new ArrayList<>();
    long pc = TestMachine.CODE;
    while (true) {
      Instruction i = m.cpu.instruction(pc);
      pc += i.length;
      if (i.text.startsWith("hlt")) {
        break;
      }
      if (i.text.startsWith("jne") || i.text.startsWith("jnz")) {
        after.add(pc);
      }
    }
    Set<Long> starts = new HashSet<>(after.subList(0, after.size() - 1));
    starts.add(TestMachine.CODE);
    return starts;
  }
}
