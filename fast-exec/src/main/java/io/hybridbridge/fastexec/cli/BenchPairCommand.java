package io.hybridbridge.fastexec.cli;

import io.hybridbridge.datasets.DatasetException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.ToolException;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.fastexec.DecisionTable;
import io.hybridbridge.fastexec.FastPath;
import io.hybridbridge.taint.cli.SnapshotNames;
import io.hybridbridge.taint.metadata.MetadataException;
import io.hybridbridge.taint.slowpath.SlowPath;
import io.hybridbridge.taint.slowpath.SlowPathException;
import io.hybridbridge.taint.slowpath.UntrustedSnapshot;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hb bench pair}: the paired measurement of a change to the fast path (sessions 21–24). Two fast paths of one
 * build run in one JVM on the same snapshot: A opened with the system property {@code --flag} set to false, B with it
 * true, so code that reads the flag while a fast path is opened runs the old way in A and the new way in B. They are
 * timed in windows taken in turn (A then B, then B then A, ...), each window the median CPU time of its inspections;
 * the figure is the median of the ratios B/A of the windows side by side, with its quartiles. This machine's speed
 * drifts by up to a third between two runs of the same code ({@code hb bench paths}), which would hide a change of a
 * few per cent; two windows a second apart share the drift. Without {@code --flag}, A and B are the same code: the
 * ratio's spread is the method's own.
 */
@Command(name = "pair", mixinStandardHelpOptions = true,
    description = "Paired ratio of two fast paths of one build in one JVM, opened with a system property false (A) "
        + "and true (B), timed in windows taken in turn: median and quartiles of B/A.")
public final class BenchPairCommand implements Callable<Integer> {
  private static final ThreadMXBean CPU = ManagementFactory.getThreadMXBean();

  @Option(names = "--references", paramLabel = "DIR",
      description = "Dataset with references and fleet snapshots (default: ${DEFAULT-VALUE}).")
  Path dataset = ReferenceStore.defaultDatasetDirectory();

  @Option(names = "--build", paramLabel = "BUILD", description = "Kernel build (default: the first with a reference).")
  String build;

  @Option(names = "--tool", paramLabel = "TOOL", defaultValue = "ps",
      description = "One of ps, lsmod, netstat, system, mount (default ps).")
  String tool;

  @Option(names = "--flag", paramLabel = "PROPERTY",
      description = "System property read while a fast path is opened: false for A, true for B (default: none, "
          + "A and B the same code).")
  String flag;

  @Option(names = "--warmup", defaultValue = "2000",
      description = "Inspections of each path before the windows (default 2000; a small tool needs thousands).")
  int warmup;

  @Option(names = "--tools-first", defaultValue = "0", paramLabel = "N",
      description = "Before the warm-up, N inspections of each path on each of the five tools in turn (ps, lsmod, "
          + "netstat, system, mount), so that each path translates their code as one fast path of hb bench paths or "
          + "of a scan does (default 0: the tool alone).")
  int toolsFirst;

  @Option(names = "--windows", defaultValue = "40", description = "Windows of each path (default 40).")
  int windows;

  @Option(names = "--per", defaultValue = "50", description = "Inspections per window (default 50).")
  int per;

  @Override
  public Integer call() throws IOException {
    InspectionTool selected;
    ReferenceStore.Reference reference;
    SnapshotNames.Named snapshot;
    try {
      if (warmup < 0 || toolsFirst < 0 || windows < 1 || per < 1) {
        throw new IllegalArgumentException("--warmup and --tools-first must be at least 0, --windows and --per at "
            + "least 1");
      }
      List<InspectionTool> tools = Tools.parseList(tool);
      if (tools.size() != 1) {
        throw new IllegalArgumentException("--tool takes one tool, not " + tool);
      }
      selected = tools.get(0);
      reference = ReferenceStore.open(dataset).references().stream()
          .filter(r -> build == null || r.kernelBuild().equals(build)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no reference of build " + build + " in " + dataset));
      snapshot = SnapshotNames.of(dataset).snapshotsOf(reference.kernelBuild()).stream().findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no fleet snapshot of " + reference.kernelBuild()));
    } catch (ToolException | DatasetException | IllegalArgumentException e) {
      System.err.println("bench pair: " + e.getMessage());
      return 2;
    }
    try (FastPath a = open(reference, false); FastPath b = open(reference, true);
        UntrustedSnapshot u = UntrustedSnapshot.open(snapshot.path(), snapshot.id(), snapshot.vmId())) {
      FastPath[] paths = {a, b};
      for (FastPath path : paths) {
        path.setTranslateAfter(1); // both translate the same hot blocks, from their first inspections
      }
      Progress progress = new Progress();
      Trained trained = trained(paths, u, selected); // one slow inspection and each path's table of it, made once
      if (toolsFirst > 0) {
        for (InspectionTool first : Tools.ALL) {
          inspectBoth(paths, u, first, first == selected ? trained : trained(paths, u, first), toolsFirst, progress,
              "tools first: " + first.name());
        }
      }
      inspectBoth(paths, u, selected, trained, warmup, progress, "warm-up");
      double[][] ms = new double[2][windows];
      double[] ratios = new double[windows];
      for (int w = 0; w < windows; w++) {
        for (int k = 0; k < 2; k++) {
          int p = (w + k) % 2; // A first in even windows, B first in odd ones
          ms[p][w] = window(paths[p], u, selected, trained.tables()[p], trained.slow());
        }
        ratios[w] = ms[1][w] / ms[0][w];
        progress.show("windows", w + 1, windows);
      }
      System.out.printf("hb bench pair: %s %s on %s, flag %s; %s%d inspections of each path, then %d windows of %d "
              + "taken in turn; load average %s%n", reference.kernelBuild(), selected.name(), snapshot.id(),
          flag == null ? "none (A and B the same code)" : flag,
          toolsFirst > 0 ? toolsFirst + " inspections of each path on each tool first, then " : "", warmup, windows,
          per, BenchPathsCommand.loadAverage());
      System.out.printf("%s: %.3f ms CPU, %s: %.3f ms CPU (medians of the windows); B/A %.3f (quartiles %.3f-%.3f)%n",
          flag == null ? "A" : "A (false)", BenchPathsCommand.median(ms[0]), flag == null ? "B" : "B (true)",
          BenchPathsCommand.median(ms[1]),
          BenchPathsCommand.median(ratios), quantile(ratios, 0.25), quantile(ratios, 0.75));
      System.out.printf("A: %s%nB: %s%n", a.translationStatus(), b.translationStatus());
      return 0;
    } catch (BenchPathsCommand.Disagreement e) {
      System.err.printf("bench pair: %s %s: the fast run %s%n", snapshot.id(), selected.name(), e.getMessage());
      return 1;
    } catch (SlowPathException | MetadataException e) {
      System.err.println("bench pair: " + reference.kernelBuild() + ": " + e.getMessage());
      return 1;
    }
  }

  /** A fast path of {@code reference} opened with {@link #flag} set to {@code value} (as it was, after). */
  private FastPath open(ReferenceStore.Reference reference, boolean value) throws SlowPathException {
    if (flag == null) {
      return FastPath.open(reference);
    }
    String before = System.getProperty(flag);
    System.setProperty(flag, Boolean.toString(value));
    try {
      return FastPath.open(reference);
    } finally {
      if (before == null) {
        System.clearProperty(flag);
      } else {
        System.setProperty(flag, before);
      }
    }
  }

  /** The median CPU ms of {@link #per} checked inspections of {@code path}. */
  private double window(FastPath path, UntrustedSnapshot u, InspectionTool selected, DecisionTable table,
      SlowPath.Inspection slow) throws SlowPathException, MetadataException, BenchPathsCommand.Disagreement {
    double[] ms = new double[per];
    for (int i = 0; i < per; i++) {
      long start = CPU.getCurrentThreadCpuTime();
      FastPath.Inspection run = path.inspect(u, selected, table);
      ms[i] = (CPU.getCurrentThreadCpuTime() - start) / 1e6;
      BenchPathsCommand.checked(run, slow);
    }
    return BenchPathsCommand.median(ms);
  }

  /** A line on stderr at most every {@link #EVERY_NANOS}: a warm-up of thousands of inspections takes minutes. */
  private static final class Progress {
    private static final long EVERY_NANOS = 15_000_000_000L;
    private final long start = System.nanoTime();
    private long last = start;

    void show(String phase, int done, int of) {
      long now = System.nanoTime();
      if (now - last >= EVERY_NANOS) {
        last = now;
        System.err.printf("bench pair: %s %d of %d, %.0f s%n", phase, done, of, (now - start) / 1e9);
      }
    }
  }

  /** The {@code q} quantile of {@code values}, the nearest rank. */
  private static double quantile(double[] values, double q) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[(int) Math.min(sorted.length - 1, Math.round(q * (sorted.length - 1)))];
  }

  /** The slow path's inspection of {@code tool} (what fast ones are checked against) and each path's table of it. */
  private record Trained(SlowPath.Inspection slow, DecisionTable[] tables) {}

  private static Trained trained(FastPath[] paths, UntrustedSnapshot u, InspectionTool tool)
      throws SlowPathException, MetadataException {
    SlowPath.Inspection slow = paths[0].slow().inspect(u, tool);
    DecisionTable[] tables = {paths[0].compile(slow.metadata()), paths[1].compile(slow.metadata())};
    return new Trained(slow, tables);
  }

  /** {@code n} checked inspections of {@code tool} by each path in turn. */
  private static void inspectBoth(FastPath[] paths, UntrustedSnapshot u, InspectionTool tool, Trained trained, int n,
      Progress progress, String what) throws SlowPathException, BenchPathsCommand.Disagreement {
    for (int i = 0; i < n; i++) {
      for (int p = 0; p < 2; p++) {
        BenchPathsCommand.checked(paths[p].inspect(u, tool, trained.tables()[p]), trained.slow());
      }
      progress.show(what, i + 1, n);
    }
  }
}
