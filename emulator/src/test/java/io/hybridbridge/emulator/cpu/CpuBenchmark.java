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
    report("kernel-like mix (benchmark.s)", rates, instructions, cache.size(), warmups);
    realKernelCode(runs, warmups);
  }

  static void report(String what, double[] rates, long instructions, int pcs, int warmups) {
    double[] sorted = rates.clone();
    Arrays.sort(sorted);
    System.out.printf("%s: %,d instructions per run, %d distinct pcs, median %.1f M instructions/s "
        + "(min %.1f, max %.1f) over %d runs after %d warm-up runs%n", what, instructions, pcs,
        sorted[rates.length / 2] / 1e6, sorted[0] / 1e6, sorted[rates.length - 1] / 1e6, rates.length, warmups);
  }

  /**
   * Real kernel code: the dataset's first build's own snprintf formatting a /proc-like line (the code that
   * formats every /proc file), called repeatedly on one CPU. Skipped with a message without a dataset.
   */
  private static void realKernelCode(int runs, int warmups) throws Exception {
    java.util.List<String> builds;
    try {
      builds = KernelImage.builds(KernelImage.dataset());
    } catch (java.io.IOException e) {
      System.out.println("real kernel code: skipped, " + e.getMessage());
      return;
    }
    KernelSandbox sandbox = new KernelSandbox(KernelImage.load(KernelImage.dataset(), builds.get(0)));
    KernelSandbox.Scratch scratch = new KernelSandbox.Scratch();
    long buf = scratch.address(0x1000);
    long fmt = scratch.string(0x100, "%5d (%s) %c %d %d %d %d %d %u %lu %lu %lu %lu %lu %lu %ld %ld %ld %ld\n");
    long comm = scratch.string(0x200, "kworker/0:1H-kblockd");
    long[] args = {buf, 512, fmt, 1234, comm, 'S', 1, 1, 0, -1, 4194368, 123, 0, 0, 0, 17, 42, 0, 0, 20, 0};
    scratch.stack(args);
    long function = sandbox.kernel.symbol("snprintf");
    int calls = 2000;
    double[] rates = new double[runs];
    long instructions = 0;
    for (int run = -warmups; run < runs; run++) {
      PagedMemory memory = new PagedMemory(sandbox.frames, sandbox.image.identity());
      memory.mapScratch(KernelSandbox.SCRATCH, KernelSandbox.SCRATCH_SIZE).put(KernelSandbox.SCRATCH,
          scratch.bytes);
      CpuState state = new CpuState();
      state.setGsBase(KernelSandbox.PERCPU);
      try (Cpu cpu = new Cpu(state, memory, sandbox.decodeCache)) {
        cpu.addHook(KernelSandbox.RETURN, c -> PcHook.Result.stop("returned"));
        long total = 0;
        long start = System.nanoTime();
        for (int call = 0; call < calls; call++) {
          for (int i = 0; i < 6; i++) {
            state.set(KernelSandbox.ARGUMENT_REGISTERS[i], args[i]);
          }
          state.set(Reg.RSP, KernelSandbox.STACK_TOP - 8);
          state.setRip(function);
          Stop stop = cpu.run(1_000_000);
          if (stop.reason() != Stop.Reason.HOOK) {
            throw new IllegalStateException("snprintf did not return: " + stop);
          }
          total += stop.instructions();
        }
        long elapsed = System.nanoTime() - start;
        instructions = total;
        if (run >= 0) {
          rates[run] = total / (elapsed / 1e9);
        }
      }
    }
    report("real kernel code (" + sandbox.kernel.build + " snprintf of a /proc/<pid>/stat-like line, "
        + calls + " calls)", rates, instructions, sandbox.decodeCache.size(), warmups);
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
