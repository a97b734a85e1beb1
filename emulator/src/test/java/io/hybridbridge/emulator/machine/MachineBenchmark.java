package io.hybridbridge.emulator.machine;

import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.DirentParser;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.Tools;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Benchmark of the syscall driver on real kernels: for every reference of the default dataset and every
 * workload (the system calls of ReferenceSyscallsTest, and each tool run whole), prints instructions executed per
 * run, distinct pcs (counted on a first, untimed run), and the median wall time and
 * instructions per second of timed runs (each run = reset + the workload; repeated until ≈ 2 M instructions
 * per timing so short calls are measured too). Decode cached, no redirection, concrete domain. Arguments:
 * [timed runs] [warm-up runs]. Run with {@code emulator/run-benchmark machine}. Not a test: it asserts nothing.
 */
public final class MachineBenchmark {
  private static final long INSTRUCTIONS_PER_TIMING = 2_000_000;

  @FunctionalInterface
  interface Workload {
    void run(KernelMachine machine) throws Exception;
  }

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 7;
    int warmups = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    System.out.printf("%-28s %-22s %12s %8s %10s %10s%n", "build", "workload", "instructions", "pcs",
        "ms/run", "M instr/s");
    List<Double> all = new ArrayList<>();
    long started = System.nanoTime();
    for (ReferenceStore.Reference ref : ReferenceStore.open(ReferenceStore.defaultDatasetDirectory()).references()) {
      Map<String, Workload> workloads = workloads(ref);
      DecodeCache shared = new DecodeCache(ref.kernelBuild());
      try (KernelMachine timed = KernelMachine.open(ref, shared)) {
        for (Map.Entry<String, Workload> w : workloads.entrySet()) {
          long instructions;
          int pcs;
          timed.countDistinctPcs(true);
          timed.reset();
          w.getValue().run(timed);
          instructions = timed.instructions();
          pcs = timed.distinctPcs();
          timed.countDistinctPcs(false);
          long repeat = Math.max(1, INSTRUCTIONS_PER_TIMING / Math.max(1, instructions));
          double[] nanosPerRun = new double[runs];
          for (int run = -warmups; run < runs; run++) {
            long start = System.nanoTime();
            for (long i = 0; i < repeat; i++) {
              timed.reset();
              w.getValue().run(timed);
            }
            if (run >= 0) {
              nanosPerRun[run] = (System.nanoTime() - start) / (double) repeat;
            }
          }
          Arrays.sort(nanosPerRun);
          double median = nanosPerRun[runs / 2];
          double rate = instructions / (median / 1e9);
          all.add(rate);
          System.out.printf("%-28s %-22s %,12d %8d %10.3f %10.1f%n", ref.kernelBuild(), w.getKey(), instructions, pcs,
              median / 1e6, rate / 1e6);
        }
      }
    }
    double[] rates = all.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    System.out.printf("median over workloads and builds: %.1f M instructions/s (min %.1f, max %.1f); %d timed runs "
        + "after %d warm-ups each; %.0f s%n", rates[rates.length / 2] / 1e6, rates[0] / 1e6,
        rates[rates.length - 1] / 1e6, runs, warmups, (System.nanoTime() - started) / 1e9);
  }

  /** The workloads of ReferenceSyscallsTest, then each tool run whole. */
  static Map<String, Workload> workloads(ReferenceStore.Reference ref) throws Exception {
    List<String> pids = new ArrayList<>();
    try (KernelMachine m = KernelMachine.open(ref)) {
      for (DirentParser.Dirent d : m.calls().listDirectory("/proc")) {
        if (d.name().chars().allMatch(Character::isDigit)) {
          pids.add(d.name());
        }
      }
    }
    Map<String, Workload> w = new LinkedHashMap<>();
    w.put("getpid", m -> m.syscall(Syscalls.GETPID));
    w.put("uname", m -> m.calls().uname());
    for (String file : List.of("/proc/version", "/proc/uptime", "/proc/modules", "/proc/net/tcp", "/proc/net/tcp6",
        "/proc/net/udp", "/proc/net/udp6", "/proc/net/unix", "/proc/net/raw", "/proc/1/mounts")) {
      w.put(file, m -> m.calls().readFile(file));
    }
    w.put("getdents64 /proc", m -> m.calls().listDirectory("/proc"));
    w.put("stat+cmdline " + pids.size() + " pids", m -> {
      for (String pid : pids) {
        m.calls().readFile("/proc/" + pid + "/stat");
        m.calls().readFile("/proc/" + pid + "/cmdline");
      }
    });
    RowContext context = new RowContext(ref.id(), null, ref.kernelBuild());
    for (InspectionTool tool : Tools.ALL) {
      w.put("tool " + tool.name(), m -> tool.run(m.calls(), context));
    }
    return w;
  }
}
