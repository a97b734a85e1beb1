package io.hybridbridge.runners.bench;

import io.hybridbridge.fastexec.cli.BenchPathsCommand;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Prints the scan bench's figures as Markdown tables (so that docs/PERFORMANCE.md can quote them as printed), and
 * keeps the same text for {@code results.md}.
 */
public final class ScanBenchReport {
  private static final String ROW_HEADER = "| runner | entries | distinct | store | wall s | snapshots/s | s/snapshot "
      + "| CPU s/snapshot | p50 ms | p95 ms | tools s | peak RSS per worker MB | peak heap per TM MB | trained "
      + "| fallbacks | fast/slow/failed |";
  private static final String ROW_RULE = "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|";

  private final ScanBench.Plan plan;
  private final PrintStream out;
  private final StringBuilder text = new StringBuilder();

  public ScanBenchReport(ScanBench.Plan plan, PrintStream out) {
    this.plan = plan;
    this.out = out;
  }

  private void line(String s) {
    out.println(s);
    out.flush();
    text.append(s).append('\n');
  }

  /** The whole report so far. */
  public String text() {
    return text.toString();
  }

  /** The machine and the plan; then the table header that each finished case adds a row to. */
  public void header() {
    line("# hb bench scan, " + Instant.now());
    line("");
    line(String.format("machine: %d cores, %s RAM, load average %s", Runtime.getRuntime().availableProcessors(),
        memTotal(), BenchPathsCommand.loadAverage()));
    line("fleet: " + plan.fleet() + "; sizes " + plan.sizes() + "; runners " + plan.runners() + "; stores "
        + plan.nights() + "; parallelism " + plan.parallelism() + "; scan JVM " + String.join(" ", plan.jvmOptions()));
    line("");
    line(ROW_HEADER);
    line(ROW_RULE);
  }

  public void row(ScanBench.Figures f) {
    line(String.format("| %s | %d | %d | %s | %.1f | %.2f | %.2f | %.2f | %d | %d | %.0f | %s | %s | %d | %d | %s |",
        f.runner().name().toLowerCase(), f.entries(), f.distinct(), f.night().name().toLowerCase(), f.wallSeconds(),
        f.snapshotsPerSecond(), f.secondsPerSnapshot(), f.cpuSecondsPerSnapshot(), f.p50Millis(), f.p95Millis(),
        f.latencies().toolSeconds(), megabytes(f.memory().rssBytes()),
        f.memory().heapBytes().isEmpty() ? "-" : megabytes(f.memory().heapBytes()), f.trained(), f.fallbacks(),
        f.outcomes()));
  }

  /** How cost grows with the fleet, what the cold night spent on training, Volatility 3, the load at the end. */
  public void summary(List<ScanBench.Figures> figures, List<Path> volatilitySnapshots) {
    line("");
    line("## Cost per snapshot as the list grows (ratio: to the smallest size of the same runner and store)");
    line("");
    line("| runner | store | entries | distinct | s/snapshot (wall) | ratio | CPU s/snapshot | ratio | p50 ms "
        + "| ratio |");
    line("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    Map<String, ScanBench.Figures> smallest = new TreeMap<>();
    for (ScanBench.Figures f : figures) {
      String key = f.runner() + "/" + f.night();
      ScanBench.Figures base = smallest.computeIfAbsent(key, k -> f);
      line(String.format("| %s | %s | %d | %d | %.2f | %.2f | %.2f | %.2f | %d | %.2f |",
          f.runner().name().toLowerCase(), f.night().name().toLowerCase(), f.entries(), f.distinct(),
          f.secondsPerSnapshot(),
          f.secondsPerSnapshot() / base.secondsPerSnapshot(), f.cpuSecondsPerSnapshot(),
          base.cpuSecondsPerSnapshot() == 0 ? 0 : f.cpuSecondsPerSnapshot() / base.cpuSecondsPerSnapshot(),
          f.p50Millis(),
          base.p50Millis() == 0 ? 0 : (double) f.p50Millis() / base.p50Millis()));
    }
    line("");
    line("## Training: what the cold night cost more than the warm one (same list, same runner)");
    line("");
    line("| runner | entries | distinct | cold wall s | warm wall s | cold − warm s | trained (build, tool) |");
    line("|---|---:|---:|---:|---:|---:|---:|");
    for (ScanBench.Figures cold : figures) {
      if (cold.night() != ScanBench.Night.COLD) {
        continue;
      }
      figures.stream().filter(w -> w.night() == ScanBench.Night.WARM && w.runner() == cold.runner()
          && w.entries() == cold.entries() && w.distinct() == cold.distinct()).findFirst()
          .ifPresent(warm -> line(String.format("| %s | %d | %d | %.1f | %.1f | %.1f | %d |",
              cold.runner().name().toLowerCase(), cold.entries(), cold.distinct(), cold.wallSeconds(),
              warm.wallSeconds(), cold.wallSeconds() - warm.wallSeconds(), cold.trained())));
    }
    line("");
    if (!volatilitySnapshots.isEmpty()) {
      Volatility.Outcome vol = Volatility.time(volatilitySnapshots, plan.work().resolve("logs"));
      Optional<ScanBench.Figures> warm = figures.stream().filter(f -> f.night() == ScanBench.Night.WARM
          && f.runner() == ScanBench.Runner.DIRECT).findFirst();
      if (vol.medianSecondsPerSnapshot().isPresent() && warm.isPresent()) {
        double ours = warm.get().p50Millis() / 1e3;
        line(String.format("Volatility 3 (%s, %s) on %d snapshots: median %.1f s per snapshot; hb warm p50 %.2f s: "
            + "ratio %.1f", vol.note(), String.join(", ", Volatility.PLUGINS), vol.snapshots(),
            vol.medianSecondsPerSnapshot().get(), ours, vol.medianSecondsPerSnapshot().get() / ours));
      } else {
        line("Volatility 3: " + vol.note() + ".");
      }
    }
    line("");
    line("load average at the end: " + BenchPathsCommand.loadAverage());
  }

  /** Peak per worker in MB, e.g. {@code taskmanager-1 812, taskmanager-2 790}, or one number for one worker. */
  private static String megabytes(Map<String, Long> peaks) {
    if (peaks.isEmpty()) {
      return "?";
    }
    if (peaks.size() == 1) {
      return Long.toString(peaks.values().iterator().next() >> 20);
    }
    StringBuilder s = new StringBuilder();
    new TreeMap<>(peaks).forEach((name, bytes) -> s.append(s.length() == 0 ? "" : ", ").append(shortName(name))
        .append(' ').append(bytes >> 20));
    return s.toString();
  }

  /** TaskManager resource ids are long; the bench's own end in their role, e.g. {@code taskmanager-1}. */
  private static String shortName(String name) {
    int tm = name.lastIndexOf("taskmanager-");
    return tm >= 0 ? "tm" + name.substring(tm + "taskmanager-".length()) : name;
  }

  private static String memTotal() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (line.startsWith("MemTotal:")) {
          return String.format("%.1f GB", Long.parseLong(line.replaceAll("\\D", "")) / 1e6 * 1.024);
        }
      }
    } catch (IOException | NumberFormatException e) {
      // fall through
    }
    return "unknown";
  }
}
