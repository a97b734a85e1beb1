package io.hybridbridge.emulator.cpu;

import static io.hybridbridge.emulator.decode.Reg.RAX;
import static io.hybridbridge.emulator.decode.Reg.RDI;
import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.decode.Instruction;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** How translated blocks are grouped into methods the JIT compiles (the semantics: {@code DifferentialTest}). */
class BlockTranslatorTest {

  @Test
  void readsTheLengthOfAMethodsBytecodeFromItsClassFile() throws Exception {
    byte[] executor;
    try (InputStream in = Executor.class.getResourceAsStream("Executor.class")) {
      executor = in.readAllBytes();
    }
    assertThat(BlockTranslator.codeLength(executor, "pc")).isEqualTo(5); // aload_0; getfield; lreturn
  }

  /**
   * 150 blocks of a read, a write and a branch, with the region budget widened so that the estimate puts them all in
   * one method of some 40,000 bytes: each region whose method came out over the JIT's limit is split again, and the
   * code still computes what the interpreter computes.
   */
  @Test
  void regionsOverTheJitsLimitAreSplitUntilTheyFit() throws Exception {
    StringBuilder program = new StringBuilder();
    for (int k = 0; k < 150; k++) {
      program.append("add rax, [rdi + ").append(8 * k).append("]; mov [rdi + ").append(4096 + 8 * k)
          .append("], rax; test rax, rax; jnz 1f; 1: ");
    }
    program.append("hlt");
    long[] sums = new long[2];
    for (boolean translated : new boolean[] {false, true}) {
      try (TestMachine m = new TestMachine(program.toString())) {
        for (int k = 0; k < 150; k++) {
          m.image.put(TestMachine.DATA + 8 * k, CpuBenchmark.le(k + 1));
        }
        m.state.set(RDI, TestMachine.DATA);
        m.cpu.setTranslation(translated);
        if (translated) {
          Set<Long> starts = blockStarts(m);
          int before = BlockTranslator.regionBytecode;
          BlockTranslator.regionBytecode = 60_000;
          try {
            assertThat(m.cpu.translate(starts)).isEqualTo(150);
          } finally {
            BlockTranslator.regionBytecode = before;
          }
          Set<Object> regions = Collections.newSetFromMap(new IdentityHashMap<>());
          int bytecode = 0;
          for (long start : starts) {
            BlockTranslator.Block block = m.cpu.translatedBlock(start);
            assertThat(block.regionBytecode()).isBetween(1, BlockTranslator.HUGE_METHOD);
            if (regions.add(block.region())) {
              bytecode += block.regionBytecode();
            }
          }
          assertThat(bytecode).as("bytecode of all the regions").isGreaterThan(5 * BlockTranslator.HUGE_METHOD / 2);
          assertThat(regions).as("regions").hasSizeGreaterThanOrEqualTo(bytecode / BlockTranslator.HUGE_METHOD + 1);
        }
        assertThat(m.run().reason()).isEqualTo(Stop.Reason.HALTED);
        sums[translated ? 1 : 0] = m.reg(RAX);
        assertThat(m.memory.read(TestMachine.DATA + 4096 + 8 * 149, 8)).isEqualTo(m.reg(RAX));
      }
    }
    assertThat(sums[0]).isEqualTo(150 * 151 / 2);
    assertThat(sums[1]).isEqualTo(sums[0]);
  }

  /** The pcs after each jnz of the program, and its start: where its blocks begin. */
  private static Set<Long> blockStarts(TestMachine m) throws Exception {
    Set<Long> starts = new HashSet<>(List.of(TestMachine.CODE));
    long pc = TestMachine.CODE;
    List<Long> after = new ArrayList<>();
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
    after.remove(after.size() - 1); // the last jnz goes to the hlt, which is no block
    starts.addAll(after);
    return starts;
  }
}
