package io.hybridbridge.fastexec.cli;

import io.hybridbridge.datasets.DatasetException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.machine.KernelMachine;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.ToolException;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.fastexec.FastPath;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.cli.SnapshotNames;
import io.hybridbridge.taint.metadata.MetadataException;
import io.hybridbridge.taint.slowpath.SlowPath;
import io.hybridbridge.taint.slowpath.SlowPathException;
import io.hybridbridge.taint.slowpath.UntrustedSnapshot;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.ToDoubleFunction;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hb bench paths}: the slow and the fast path side by side, per build and tool, on the same snapshot in one
 * run: median wall time of the whole inspection of an opened snapshot (T restored to its prepared checkpoint, U's
 * writes dropped, the tool), of the tool's system calls alone, instructions per second, and the ratios; and the
 * median time to open the snapshot, which an inspection of several tools pays once (both paths alike). The fast path
 * runs translated blocks (JVM bytecode); the same fast path interpreting, and T running the tool on itself
 * interpreted with no router and no value domain ("plain"), are measured beside it. Besides wall time, the
 * thread's CPU time of each inspection: on a shared machine whose load average exceeds its cores, wall time mostly
 * measures the other processes; CPU time does not (instructions per second are computed from it).
 *
 * <p>The fast path runs with the metadata of the slow path's own run on that snapshot (the benchmark measures speed,
 * not coverage: a fallback is reported and the tool skipped). The paths are warmed up alone, one after the
 * other, as a worker runs them: a scan's workers run the fast path all night and the slow path only on fallbacks, so
 * rounds that alternated them from the start (this bench until session 4) measured both with the JIT's code for a
 * mix no worker runs, which cost the small tools most (lsmod measured alone: slow 6.1 → 1.7 ms, fast 3.7 → 0.6). Once
 * all are warm, they are timed in windows taken in turn, and each ratio is of windows side by side (session 21).
 */
@Command(name = "paths", mixinStandardHelpOptions = true,
    description = "Benchmark the slow path (taint) against the fast path (memoized metadata) on the same snapshot, "
        + "per kernel build and tool: median wall time, instructions per second, ratio.")
public final class BenchPathsCommand implements Callable<Integer> {
  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();
  /** The JIT's compilers: a path is warm once they are quiet too (null: this JVM does not time them). */
  private static final CompilationMXBean JIT = jit();
  /**
   * A warm-up window during which the compilers worked less than this share of its wall time leaves the JIT quiet.
   * Until session 24 warm-up stopped at "no faster" alone; session 22 saw the fast ps stop after 412–583 rounds while
   * the JIT went on compiling its regions: a window can be no faster by 2 % while C2 is still halfway through a
   * path's code (session 24, 6.12: the compilers busy 8.7, 2.5, 2.0, 1.8, 1.9 s of the fast ps's first 2 s windows).
   */
  private static final double JIT_QUIET = 0.05;
  /** Warm-up windows: at least this many rounds and seconds (see {@link #warmUp}). */
  private static final int WINDOW_ROUNDS = 5;
  private static final double WINDOW_SECONDS = 2;
  /** Timed windows: at least {@link #WINDOW_ROUNDS} rounds and this many seconds (see {@link #window}). */
  private static final double TIMED_SECONDS = 0.3;
  /** The bench measures the fast path as a long scan runs it: translating from its warm-ups on. */
  private static final int TRANSLATE_AFTER = 3;

  @Option(names = "--references", paramLabel = "DIR",
      description = "Dataset with references and fleet snapshots (default: ${DEFAULT-VALUE}).")
  Path dataset = ReferenceStore.defaultDatasetDirectory();

  @Option(names = "--tool", paramLabel = "TOOL", defaultValue = "all",
      description = "ps, lsmod, netstat, system, mount, a comma-separated list, or all (default).")
  String tools;

  @Option(names = "--build", split = ",", paramLabel = "BUILD",
      description = "Kernel builds to measure (default: every build with a reference).")
  List<String> builds;

  @Option(names = "--runs", defaultValue = "7",
      description = "Timed windows of each path per tool, taken in turn (default 7; each >= 0.3 s).")
  int runs;

  @Option(names = "--warmups", defaultValue = "3",
      description = "Untimed rounds of each path before its timed ones, at least (default 3).")
  int warmups;

  @Option(names = "--warmup-limit", defaultValue = "120", paramLabel = "S",
      description = "Seconds each path may warm up at most, per tool (default 120): it warms up until it runs no "
          + "faster and the JIT has stopped compiling (a small tool takes thousands of rounds to reach the speed a "
          + "long scan sees; ps's translated regions keep C2 busy for tens of seconds).")
  double warmupLimit;

  /**
   * Medians of one (build, tool): of each path's timed windows, and of the ratios of the windows run one after the
   * other (slow, fast, interpreting, then again).
   */
  private record Row(String build, String snapshot, String tool, long instructions, double openMs, double slowMs,
      double fastMs, double ratio, double slowCpuMs, double fastCpuMs, double cpuRatio, double interpretedCpuMs,
      double interpretedRatio, double executionRatio, double plainMips, String translation) {}

  @Override
  public Integer call() throws IOException {
    PrintStream out = System.out;
    List<InspectionTool> selected;
    SnapshotNames names;
    ReferenceStore references;
    try {
      if (runs < 1 || warmups < 0 || warmupLimit < 0) {
        throw new IllegalArgumentException("--runs must be at least 1, --warmups and --warmup-limit at least 0");
      }
      selected = Tools.parseList(tools);
      names = SnapshotNames.of(dataset);
      references = ReferenceStore.open(dataset);
    } catch (ToolException | DatasetException | IllegalArgumentException e) {
      System.err.println("bench paths: " + e.getMessage());
      return 2;
    }
    out.printf("hb bench paths: per tool, each path (slow, fast, fast interpreting) warmed up alone until it runs no "
        + "faster and the JIT is quiet (%d rounds at least, %s s at most), then %d timed windows of each, in turn; "
        + "%d CPUs, load average %s%n", warmups, warmupLimit, runs, Runtime.getRuntime().availableProcessors(),
        loadAverage());
    List<Row> rows = new ArrayList<>();
    int failures = 0;
    for (ReferenceStore.Reference reference : references.references()) {
      if (builds != null && !builds.contains(reference.kernelBuild())) {
        continue;
      }
      List<SnapshotNames.Named> fleet = names.snapshotsOf(reference.kernelBuild());
      if (fleet.isEmpty()) {
        System.err.println("bench paths: no fleet snapshot of " + reference.kernelBuild() + " in " + dataset);
        failures++;
        continue;
      }
      try (FastPath fast = FastPath.open(reference)) {
        fast.setTranslateAfter(TRANSLATE_AFTER);
        for (InspectionTool tool : selected) {
          Row row = measure(fast, reference.kernelBuild(), fleet, tool);
          if (row == null) {
            failures++;
          } else {
            rows.add(row);
          }
        }
      } catch (SlowPathException | MetadataException e) {
        System.err.println("bench paths: " + reference.kernelBuild() + ": " + e.getMessage());
        failures++;
      }
    }
    print(out, rows);
    out.printf("load average at the end: %s%n", loadAverage());
    return failures == 0 ? 0 : 1;
  }

  /**
   * Medians of one tool on the first fleet snapshot of the build whose fast run, with the metadata of its own slow
   * run, does not fall back (a snapshot whose inspection itself meets an instruction training saw both ways cannot
   * be measured on the fast path); null when none.
   */
  private Row measure(FastPath fast, String build, List<SnapshotNames.Named> fleet, InspectionTool tool)
      throws SlowPathException, MetadataException {
    for (SnapshotNames.Named e : fleet) {
      Path path = e.path();
      TrainingMetadata metadata;
      try (UntrustedSnapshot u = UntrustedSnapshot.open(path, e.id(), e.vmId())) {
        SlowPath.Inspection slow = fast.slow().inspect(u, tool);
        metadata = slow.metadata();
        FastPath.Inspection check = fast.inspect(u, tool, metadata);
        if (check.fellBack()) {
          System.err.printf("bench paths: %s %s falls back on its own metadata (%s at %s); next snapshot%n",
              e.id(), tool.name(), check.fallback().getReason(), check.fallback().getSymbol());
          continue;
        }
        if (!check.rows().equals(slow.rows())) {
          System.err.printf("bench paths: %s %s: the fast path's rows differ from the slow path's%n", e.id(),
              tool.name());
          return null;
        }
      }
      double[] openMs = new double[runs];
      for (int i = 0; i < runs; i++) {
        long start = System.nanoTime();
        try (UntrustedSnapshot opened = UntrustedSnapshot.open(path, e.id(), e.vmId())) {
          fast.slow().calibrateClock(opened);
        }
        openMs[i] = (System.nanoTime() - start) / 1e6;
      }
      try (UntrustedSnapshot u = UntrustedSnapshot.open(path, e.id(), e.vmId())) {
        return timed(fast, build, e, u, tool, metadata, median(openMs));
      }
    }
    System.err.printf("bench paths: %s %s: every snapshot falls back on its own metadata%n", build, tool.name());
    return null;
  }

  /**
   * The timed rounds of {@code tool} on the opened {@code u}: each path (slow, fast with translated blocks, fast
   * interpreting) warmed up alone, one after the other, then {@link #runs} windows of each in turn, so that a slow
   * window and the fast ones beside it ran within a second or two of each other, under the same load (this shared
   * machine's speed drifts over minutes: runs of the paths one after the other put 7.6–18.6 M instructions per CPU
   * second into the slow path's column of one table); every fast round is checked against the slow path's rows and
   * instruction count.
   */
  private Row timed(FastPath fast, String build, SnapshotNames.Named e, UntrustedSnapshot u, InspectionTool tool,
      TrainingMetadata metadata, double openMs) throws SlowPathException, MetadataException {
    SlowPath.Inspection[] reference = new SlowPath.Inspection[1];
    List<Round> paths = List.of(() -> {
      reference[0] = fast.slow().inspect(u, tool);
      return reference[0].executionTime();
    }, () -> checked(fast.inspect(u, tool, metadata), reference[0]),
        () -> checked(interpreted(fast, u, tool, metadata), reference[0]));
    Window[][] t = new Window[paths.size()][runs]; // t[path][i]: window i of the path
    WarmUp[] warmUps = new WarmUp[paths.size()];
    try {
      for (int p = 0; p < paths.size(); p++) {
        warmUps[p] = warmUp(paths.get(p));
      }
      for (int i = 0; i < runs; i++) {
        for (int p = 0; p < paths.size(); p++) {
          t[p][i] = window(paths.get(p), TIMED_SECONDS);
        }
      }
    } catch (Disagreement d) {
      System.err.printf("bench paths: %s %s: the fast run %s%n", e.id(), tool.name(), d.getMessage());
      return null;
    }
    Window[] slow = t[0];
    Window[] translated = t[1];
    Window[] interpreted = t[2];
    System.err.printf("bench paths: %s %s measured (warm-up: slow %s; fast %s; interpreting %s)%n", build,
        tool.name(), warmUps[0], warmUps[1], warmUps[2]);
    return new Row(build, e.id(), tool.name(), reference[0].instructions(), openMs, median(slow, Window::wallMs),
        median(translated, Window::wallMs), pairedRatio(slow, translated, Window::wallMs), median(slow, Window::cpuMs),
        median(translated, Window::cpuMs), pairedRatio(slow, translated, Window::cpuMs),
        median(interpreted, Window::cpuMs), pairedRatio(slow, interpreted, Window::cpuMs),
        pairedRatio(slow, translated, Window::executionMs), plainMips(fast.slow().machine(), tool),
        fast.translationStatus());
  }

  /** One inspection of a path; returns the time its tool's system calls took. */
  @FunctionalInterface
  private interface Round {
    Duration run() throws SlowPathException, MetadataException, Disagreement;
  }

  /** A fast round that did not give the slow path's result: that tool's measurement stops there. */
  static final class Disagreement extends Exception {
    Disagreement(String how) {
      super(how);
    }
  }

  /** Medians of the rounds of one window of a path, in ms, and how many rounds it ran. */
  private record Window(double wallMs, double cpuMs, double executionMs, int rounds) {}

  /** How a path's warm-up went: its rounds, its seconds, and whether the JIT was quiet when it ended. */
  private record WarmUp(int rounds, double seconds, boolean jitQuiet) {
    @Override
    public String toString() {
      return String.format("%d rounds in %.0f s%s", rounds, seconds, jitQuiet ? "" : ", the JIT still compiling");
    }
  }

  /**
   * Warms {@code inspection} up alone (so the JIT has compiled this path as a worker that runs it all night has, and
   * the other paths' profiles do not linger). Warm-up goes by windows of at least {@link #WINDOW_ROUNDS} rounds and
   * {@link #WINDOW_SECONDS}: it ends when three windows in a row were no faster (by 2 %) than the best before them
   * and the compilers were quiet in the last ({@link #JIT_QUIET}), after {@link #warmups} rounds at least and {@link
   * #warmupLimit} seconds at most.
   */
  private WarmUp warmUp(Round inspection) throws SlowPathException, MetadataException, Disagreement {
    long start = System.nanoTime();
    long limit = start + (long) (warmupLimit * 1e9);
    double best = Double.MAX_VALUE;
    int stale = 0;
    int rounds = 0;
    boolean quiet = false;
    while (rounds < warmups || (stale < 3 || !quiet) && System.nanoTime() < limit) {
      long windowStart = System.nanoTime();
      long compiling = compilationMillis();
      Window window = window(inspection, WINDOW_SECONDS);
      quiet = compilationMillis() - compiling < JIT_QUIET * (System.nanoTime() - windowStart) / 1e6;
      rounds += window.rounds();
      stale = window.cpuMs() < 0.98 * best ? 0 : stale + 1;
      best = Math.min(best, window.cpuMs());
    }
    return new WarmUp(rounds, (System.nanoTime() - start) / 1e9, quiet);
  }

  private static CompilationMXBean jit() {
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    return jit != null && jit.isCompilationTimeMonitoringSupported() ? jit : null;
  }

  /** The compilers' time so far, in ms (summed over their threads); 0 when the JVM does not time them. */
  private static long compilationMillis() {
    return JIT == null ? 0 : JIT.getTotalCompilationTime();
  }

  /**
   * Runs {@code inspection} for at least {@link #WINDOW_ROUNDS} rounds and {@code seconds}; the medians of its rounds
   * (a single round of a small tool, a fraction of a millisecond, would measure mostly the caches the path before it
   * left).
   */
  private static Window window(Round inspection, double seconds)
      throws SlowPathException, MetadataException, Disagreement {
    List<double[]> rounds = new ArrayList<>(); // wall, CPU and execution ms of each round
    long end = System.nanoTime() + (long) (seconds * 1e9);
    while (rounds.size() < WINDOW_ROUNDS || System.nanoTime() < end) {
      long start = System.nanoTime();
      long cpu = CPU.getCurrentThreadCpuTime();
      Duration execution = inspection.run();
      rounds.add(new double[] {(System.nanoTime() - start) / 1e6, (CPU.getCurrentThreadCpuTime() - cpu) / 1e6,
          execution.toNanos() / 1e6});
    }
    return new Window(median(rounds.stream().mapToDouble(r -> r[0]).toArray()),
        median(rounds.stream().mapToDouble(r -> r[1]).toArray()),
        median(rounds.stream().mapToDouble(r -> r[2]).toArray()), rounds.size());
  }

  /** The median of one clock of {@code windows}. */
  private static double median(Window[] windows, ToDoubleFunction<Window> clock) {
    return median(Arrays.stream(windows).mapToDouble(clock).toArray());
  }

  /** The median of one clock's {@code a[i] / b[i]}: the ratio of windows run side by side. */
  private static double pairedRatio(Window[] a, Window[] b, ToDoubleFunction<Window> clock) {
    double[] ratios = new double[a.length];
    for (int i = 0; i < a.length; i++) {
      ratios[i] = clock.applyAsDouble(a[i]) / clock.applyAsDouble(b[i]);
    }
    return median(ratios);
  }

  /** {@code run}'s execution time, if it gave the slow path's {@code s} rows and instruction count. */
  static Duration checked(FastPath.Inspection run, SlowPath.Inspection s) throws Disagreement {
    if (run.fellBack()) {
      throw new Disagreement("fell back");
    }
    if (run.instructions() != s.instructions()) {
      throw new Disagreement("executed " + run.instructions() + " instructions, the slow one " + s.instructions());
    }
    if (!run.rows().equals(s.rows())) {
      throw new Disagreement("gave other rows than the slow one");
    }
    return run.executionTime();
  }

  /** The fast path with its translated blocks set aside: every instruction interpreted. */
  private static FastPath.Inspection interpreted(FastPath fast, UntrustedSnapshot u, InspectionTool tool,
      TrainingMetadata metadata) throws SlowPathException, MetadataException {
    fast.setTranslation(false);
    try {
      return fast.inspect(u, tool, metadata);
    } finally {
      fast.setTranslation(true);
    }
  }

  /** Median M instructions/s of {@code tool} run by T on itself, interpreted: no router, no value domain, no U. */
  private double plainMips(KernelMachine machine, InspectionTool tool) {
    double[] mips = new double[runs];
    RowContext context = new RowContext("reference", "reference", machine.reference().kernelBuild());
    boolean translation = machine.cpu().translation();
    machine.cpu().setTranslation(false);
    try {
      for (int i = -warmups; i < runs; i++) {
        long cpu = CPU.getCurrentThreadCpuTime();
        try {
          machine.runTool(tool, context);
        } catch (ToolException e) {
          return Double.NaN; // T's own tool failing says nothing about the paths
        }
        if (i >= 0) {
          mips[i] = machine.instructions() / ((CPU.getCurrentThreadCpuTime() - cpu) / 1e3);
        }
      }
    } finally {
      machine.cpu().setTranslation(translation);
    }
    return median(mips);
  }

  static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  private static void print(PrintStream out, List<Row> rows) {
    out.println();
    out.printf("%-21s %-8s %-12s %12s | %7s | %9s %9s %6s | %9s %9s %6s | %9s %6s | %6s | %6s %6s %6s %6s%n",
        "build", "tool", "snapshot", "instructions", "open ms", "slow ms", "fast ms", "ratio", "slow cpu", "fast cpu",
        "ratio", "interp", "ratio", "exec", "slow", "fast", "interp", "plain");
    for (Row r : rows) {
      String snapshot = r.snapshot().substring(r.snapshot().indexOf('/') + 1);
      out.printf("%-21s %-8s %-12s %,12d | %7.2f | %9.2f %9.2f %5.1fx | %9.2f %9.2f %5.1fx | %9.2f %5.1fx | %5.1fx | "
              + "%6.1f %6.1f %6.1f %6.1f%n", r.build(), r.tool(), snapshot, r.instructions(), r.openMs(), r.slowMs(),
          r.fastMs(), r.ratio(), r.slowCpuMs(), r.fastCpuMs(), r.cpuRatio(), r.interpretedCpuMs(),
          r.interpretedRatio(), r.executionRatio(), r.instructions() / r.slowCpuMs() / 1e3,
          r.instructions() / r.fastCpuMs() / 1e3, r.instructions() / r.interpretedCpuMs() / 1e3, r.plainMips());
    }
    rows.stream().map(Row::build).distinct().forEach(build -> out.printf("%s: %s%n", build,
        rows.stream().filter(r -> r.build().equals(build)).reduce((a, b) -> b).orElseThrow().translation()));
    out.println("""
        open ms: median time to open the snapshot, locate its kernel and find its clock (once per snapshot, whatever
          its tools).
        ms: median wall time of an inspection of the opened snapshot (T restored to its prepared checkpoint, U's
          writes dropped, the tool); cpu: median CPU time of the same (the thread's: what the load of other
          processes does not inflate); exec: wall-time ratio of the tool's system calls alone. Each path is warmed
          up alone, then timed in windows (>= 0.3 s) taken in turn, slow, fast, interp, again and again: a ratio is
          the median of the ratios of windows taken side by side, not the ratio of the medians.
        fast: the fast path as it runs (blocks of T's code translated to JVM bytecode once it has inspected a few
          snapshots); interp: the same fast path interpreting every instruction (CPU ms, and its ratio to slow).
        slow, fast, interp, plain: million instructions per CPU second; plain: T running the tool on itself,
          interpreted, no router, no value domain, no U (the interpreter's own speed).""");
  }

  /** The host's 1, 5 and 15-minute load averages, which every benchmark prints beside its figures. */
  public static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | ArrayIndexOutOfBoundsException e) {
      return "unknown";
    }
  }
}
