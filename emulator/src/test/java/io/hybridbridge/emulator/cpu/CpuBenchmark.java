package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.decode.Reg;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Benchmark of the executor on a kernel-like instruction mix (benchmark.s), decode cached, concrete domain:
 * prints instructions executed, distinct pcs, wall time and instructions per second, median of several runs.
 * Arguments: [runs] [outer iterations per run] [warm-up runs, not counted]. Run with emulator/run-benchmark
 * (see emulator/README.md). Not a test: it asserts nothing.
 */
public final class CpuBenchmark {
  static final long CODE = 0xffffffff81000000L;
  static final long DATA = 0xffff888000100000L;
  static final long STACK = 0xffffc90000010000L;
  static final long PERCPU = 0xffff88803fc00000L;

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 9;
    long iterations = args.length > 1 ? Long.parseLong(args[1]) : 20_000;
    int warmups = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    SparseImage image = image();
    DecodeCache cache = new DecodeCache("benchmark");
    double[] rates = new double[runs];
    long instructions = 0;
    for (int run = -warmups; run < runs; run++) {
      PagedMemory memory = new PagedMemory(new FrameCache(image), image.identity());
      CpuState state = initialState(iterations);
      try (Cpu cpu = new Cpu(state, memory, cache)) {
        long start = System.nanoTime();
        Stop stop = cpu.run(Long.MAX_VALUE);
        long elapsed = System.nanoTime() - start;
        if (stop.reason() != Stop.Reason.HALTED) {
          throw new IllegalStateException("benchmark code did not finish: " + stop);
        }
        instructions = stop.instructions();
        double rate = instructions / (elapsed / 1e9);
        System.out.printf("%s %d: %,d instructions in %.3f s = %.1f M instructions/s%n",
            run < 0 ? "warm-up" : "run", run < 0 ? run + warmups + 1 : run + 1, instructions, elapsed / 1e9,
            rate / 1e6);
        if (run >= 0) {
          rates[run] = rate;
        }
      }
    }
    double[] sorted = rates.clone();
    Arrays.sort(sorted);
    System.out.printf("kernel-like mix: %,d instructions per run, %d distinct pcs, median %.1f M instructions/s "
        + "(min %.1f, max %.1f) over %d runs after %d warm-up runs%n", instructions, cache.size(),
        sorted[runs / 2] / 1e6, sorted[0] / 1e6, sorted[runs - 1] / 1e6, runs, warmups);
  }

  /** The benchmark code and its data: a list, a string, a source buffer, a per-CPU area, a stack. */
  static SparseImage image() throws java.io.IOException {
    String source;
    try (InputStream in = CpuBenchmark.class.getResourceAsStream("benchmark.s")) {
      source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    byte[] code = GnuAssembler.assemble(source);
    SparseImage image = new SparseImage().put(CODE, code).map(DATA, 0x10000).map(STACK, 0x4000)
        .map(PERCPU, 0x1000);
    for (int i = 0; i < 32; i++) {
      long node = DATA + 64L * i;
      image.put(node, le(i == 31 ? 0 : node + 64));
      image.put(node + 8, le(i * 7L));
      image.put(node + 16, new byte[] {(byte) (i % 3)});
    }
    image.put(DATA + 0x1000, "x".repeat(120).getBytes(StandardCharsets.US_ASCII));
    byte[] source1k = new byte[1024];
    new java.util.Random(1).nextBytes(source1k);
    image.put(DATA + 0x2000, source1k);
    return image;
  }

  static CpuState initialState(long iterations) {
    CpuState state = new CpuState();
    state.setRip(CODE);
    state.set(Reg.RBX, DATA);
    state.set(Reg.R15, iterations);
    state.set(Reg.RSP, STACK + 0x3000);
    state.setGsBase(PERCPU);
    return state;
  }

  /** {@code v} as 8 little-endian bytes. */
  static byte[] le(long v) {
    byte[] b = new byte[8];
    for (int i = 0; i < 8; i++) {
      b[i] = (byte) (v >>> (8 * i));
    }
    return b;
  }
}
