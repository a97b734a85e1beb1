package io.hybridbridge.cli;

import io.hybridbridge.datasets.FileTrees;
import io.hybridbridge.datasets.HbCache;
import io.hybridbridge.runners.bench.BenchException;
import io.hybridbridge.runners.bench.FleetLists;
import io.hybridbridge.runners.bench.ScanBench;
import io.hybridbridge.runners.bench.ScanBenchReport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hb bench scan}: the fleet scan benchmark (see docs/PERFORMANCE.md). */
@Command(name = "scan", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Time real `hb scan`s of a fleet's snapshots: 50, 100, 200 distinct ones and 2,000 entries (each of the "
        + "200 under ten VM ids), on Direct and on a private local Flink cluster (1 JobManager, 2 TaskManagers), "
        + "each first on a fresh metadata store (cold) and again on the store that left (warm).",
        "Prints wall time, snapshots/s, p50/p95 per-snapshot time (status table: the tools' wall times summed per "
            + "snapshot), peak memory per worker, training, fallbacks; then the cost per snapshot per size and its "
            + "growth; then Volatility 3 on the same snapshots if it can run here. Tables also go to WORK/results.md."})
public final class BenchScanCommand implements Callable<Integer> {
  @Option(names = "--fleet", paramLabel = "DIR",
      description = "The fleet dataset (default: $HB_CACHE/datasets/fleet200, made by `hb datasets build --fleet 200`).")
  Path fleet = HbCache.root().resolve("datasets").resolve("fleet200");

  @Option(names = "--sizes", paramLabel = "LIST", split = ",", defaultValue = "50,100,200,200x10",
      description = "Snapshot lists: N (the first N distinct snapshots, every build in turn) or NxK (each of those "
          + "under K VM ids) (default: ${DEFAULT-VALUE}).")
  List<String> sizes;

  @Option(names = "--runners", paramLabel = "LIST", split = ",", defaultValue = "direct,flink",
      description = "direct, flink (default: ${DEFAULT-VALUE}).")
  List<String> runners;

  @Option(names = "--nights", paramLabel = "LIST", split = ",", defaultValue = "cold,warm",
      description = "cold (a fresh metadata store), warm (the store the cold night left; needs cold first) "
          + "(default: ${DEFAULT-VALUE}).")
  List<String> nights;

  @Option(names = "--work", paramLabel = "DIR",
      description = "Lists, stores, outputs, logs, the Flink cluster's state, results.md (default: $HB_CACHE/bench/scan).")
  Path work = HbCache.root().resolve("bench").resolve("scan");

  @Option(names = "--parallelism", paramLabel = "N", description = "Of every scan (default: the cores, ${DEFAULT-VALUE}).")
  int parallelism = Runtime.getRuntime().availableProcessors();

  @Option(names = "--scan-jvm", paramLabel = "OPTIONS", defaultValue = "-Xmx4g -XX:+UseParallelGC",
      description = "JVM options of each `hb scan` process (default: ${DEFAULT-VALUE}, as ./hb).")
  String scanJvm;

  @Option(names = "--flink-rest-port", paramLabel = "PORT", defaultValue = "18081",
      description = "REST port of the bench's own Flink cluster (the next one is its RPC port; default: ${DEFAULT-VALUE}).")
  int flinkRestPort;

  @Option(names = "--volatility-snapshots", paramLabel = "N", defaultValue = "3",
      description = "Snapshots Volatility 3 is timed on, if it can run (default: ${DEFAULT-VALUE}; 0: do not try).")
  int volatilitySnapshots;

  @Override
  public Integer call() {
    try {
      ScanBench.Plan plan = new ScanBench.Plan(fleet.toAbsolutePath(), work.toAbsolutePath(),
          sizes.stream().map(FleetLists.ListSize::parse).toList(),
          runners.stream().map(r -> parse(ScanBench.Runner.class, r, "--runners")).toList(),
          nights.stream().map(n -> parse(ScanBench.Night.class, n, "--nights")).toList(), parallelism,
          List.of(scanJvm.trim().split("\\s+")), flinkRestPort);
      if (plan.nights().contains(ScanBench.Night.WARM) && !plan.nights().contains(ScanBench.Night.COLD)) {
        throw new IllegalArgumentException("--nights warm needs cold first (the warm store is what cold left)");
      }
      if (parallelism < 1) {
        throw new IllegalArgumentException("--parallelism must be >= 1");
      }
      ScanBenchReport report = new ScanBenchReport(plan, System.out);
      report.header();
      ScanBench bench = new ScanBench(plan, FlinkCommand::progress);
      List<ScanBench.Figures> figures = bench.run(report::row);
      report.summary(figures, volatilitySnapshots > 0 ? bench.firstSnapshots(volatilitySnapshots) : List.of());
      Path results = work.resolve("results.md");
      FileTrees.writeAtomically(results, report.text().getBytes(StandardCharsets.UTF_8));
      System.out.println("\n(tables written to " + results.toAbsolutePath() + ")");
      return 0;
    } catch (IllegalArgumentException e) {
      System.err.println("hb bench scan: " + e.getMessage());
      return 2;
    } catch (BenchException | IOException e) {
      System.err.println("hb bench scan: " + e.getMessage());
      return 1;
    }
  }

  private static <E extends Enum<E>> E parse(Class<E> type, String name, String option) {
    try {
      return Enum.valueOf(type, name.trim().toUpperCase());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(option + ": unknown value '" + name + "'");
    }
  }
}
