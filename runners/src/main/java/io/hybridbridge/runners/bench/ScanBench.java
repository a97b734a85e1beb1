package io.hybridbridge.runners.bench;

import io.hybridbridge.datasets.FileTrees;
import io.hybridbridge.runners.SetupException;
import io.hybridbridge.runners.ShadedJar;
import io.hybridbridge.runners.flink.FlinkClusterException;
import io.hybridbridge.runners.flink.FlinkClusterSpec;
import io.hybridbridge.runners.flink.FlinkProcess;
import io.hybridbridge.runners.flink.LocalFlinkCluster;
import java.io.IOException;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

/**
 * The fleet scan benchmark: real {@code hb scan}s of growing lists of a fleet's snapshots, on Direct and on a
 * local Flink cluster (1 JobManager, 2 TaskManagers of one slot), each list twice on one metadata store: the
 * first night on a fresh (cold) store, the second on the store the first one left (warm).
 */
public final class ScanBench {
  /** The nights of one case: a fresh store, then the same store again. */
  public enum Night { COLD, WARM }

  public enum Runner {
    DIRECT("DirectRunner"), FLINK("FlinkRunner");

    final String beamName;

    Runner(String beamName) {
      this.beamName = beamName;
    }
  }

  /**
   * What to run.
   *
   * @param fleet the fleet dataset (its snapshots and its references)
   * @param work where lists, stores, outputs, logs and the private Flink cluster's state go
   * @param sizes lists: N distinct snapshots, or NxK (each of N under K VM ids)
   * @param parallelism of every scan (the machine's cores)
   * @param flinkRestPort the private cluster's REST port (its other ports are free ones)
   */
  public record Plan(Path fleet, Path work, List<FleetLists.ListSize> sizes, List<Runner> runners, List<Night> nights,
      int parallelism, List<String> jvmOptions, int flinkRestPort) {}

  /** The figures of one scan. */
  public record Figures(Runner runner, int entries, int distinct, Night night, double wallSeconds,
      double scanSeconds, StatusLatencies latencies, MemorySampler.Peaks memory, long trained) {
    public double snapshotsPerSecond() {
      return entries / wallSeconds;
    }

    public double secondsPerSnapshot() {
      return wallSeconds / entries;
    }

    /** CPU seconds of the workers per snapshot: the cost measure that other work on the machine hardly moves. */
    public double cpuSecondsPerSnapshot() {
      return memory.cpuSeconds() / entries;
    }

    public long p50Millis() {
      return latencies.percentile(50);
    }

    public long p95Millis() {
      return latencies.percentile(95);
    }

    public long fallbacks() {
      return latencies.fallbacks();
    }

    public String outcomes() {
      return latencies.okFast() + "/" + latencies.okSlow() + "/" + latencies.failed();
    }
  }

  private final Plan plan;
  private final Consumer<String> progress;

  public ScanBench(Plan plan, Consumer<String> progress) {
    this.plan = plan;
    this.progress = progress;
  }

  /** Runs every case of the plan; {@code done} hears each case's figures as soon as they are known. */
  public List<Figures> run(Consumer<Figures> done) throws BenchException {
    FleetLists lists = FleetLists.of(plan.fleet());
    List<Figures> all = new ArrayList<>();
    for (Runner runner : plan.runners()) {
      Optional<LocalFlinkCluster.Status> cluster = runner == Runner.FLINK ? Optional.of(startCluster())
          : Optional.empty();
      try {
        for (FleetLists.ListSize size : plan.sizes()) {
          String name = runner.name().toLowerCase() + "-" + size;
          Path list = lists.write(size, plan.work().resolve("lists").resolve("fleet-" + size + ".json"));
          Path store = plan.work().resolve("stores").resolve(name);
          Path out = plan.work().resolve("out").resolve(name);
          clear(store);
          clear(out);
          for (Night night : plan.nights()) {
            Figures figures = runOne(runner, cluster, list, size.entries(), size.distinct(), night, store,
                out, plan.work().resolve("logs").resolve(name + "-" + night.name().toLowerCase()));
            all.add(figures);
            done.accept(figures);
          }
        }
      } finally {
        if (cluster.isPresent()) {
          stopCluster();
        }
      }
    }
    return all;
  }

  private Figures runOne(Runner runner, Optional<LocalFlinkCluster.Status> cluster, Path list, int entries,
      int distinct, Night night, Path store, Path out, Path log) throws BenchException {
    // Night n is scan date 2000-01-0n: the warm night's partition sits beside the cold one's, as a nightly job's.
    LocalDate date = LocalDate.of(2000, 1, 1 + night.ordinal());
    progress.accept(String.format("%s, %d snapshots (%d distinct), %s store: scanning (log %s.*)", runner,
        entries, distinct, night.name().toLowerCase(), log));
    List<String> runnerArgs = new ArrayList<>(List.of("--runner", runner.beamName,
        "--parallelism", Integer.toString(plan.parallelism())));
    cluster.ifPresent(c -> runnerArgs.addAll(List.of("--flinkMaster", c.rest().base().getAuthority())));
    AtomicReference<ProcessHandle> child = new AtomicReference<>();
    List<MemorySampler.Worker> workers = new ArrayList<>();
    if (cluster.isPresent()) {
      for (FlinkProcess p : cluster.get().processes()) {
        if (p.role().startsWith("taskmanager")) {
          workers.add(new MemorySampler.Worker(p.role(), () -> Optional.of(p.pid())));
        }
      }
    } else {
      workers.add(new MemorySampler.Worker("direct", () -> Optional.ofNullable(child.get()).map(ProcessHandle::pid)));
    }
    ScanRun.Result result;
    MemorySampler.Peaks peaks;
    try (MemorySampler sampler = new MemorySampler(workers, cluster.map(LocalFlinkCluster.Status::rest).orElse(null))) {
      result = ScanRun.run(new ScanRun.Launch(plan.jvmOptions(), runnerArgs), list, out, plan.fleet(), store, date,
          log, child);
      peaks = sampler.peaks();
    }
    StatusLatencies latencies = StatusLatencies.read(out, date);
    return new Figures(runner, entries, distinct, night, result.wallSeconds(), result.scanSeconds(), latencies, peaks,
        result.trained());
  }

  private Path flinkState() {
    return plan.work().resolve("flink");
  }

  private LocalFlinkCluster.Status startCluster() throws BenchException {
    try {
      ShadedJar.ensureBuilt(progress); // built before the first scan, so that no scan's time includes it
      FlinkClusterSpec defaults = FlinkClusterSpec.defaults(flinkState());
      FlinkClusterSpec spec = new FlinkClusterSpec(flinkState(), 2, 1, plan.flinkRestPort(), plan.flinkRestPort() + 1,
          0, 0, defaults.jobManagerMemory(), defaults.taskManagerMemory(), defaults.startTimeout());
      LocalFlinkCluster.Started started = LocalFlinkCluster.start(spec, progress);
      if (started.alreadyRunning()) {
        progress.accept("the bench's Flink cluster was already running (" + flinkState() + "); using it");
      }
      return started.status();
    } catch (FlinkClusterException | SetupException e) {
      throw new BenchException("cannot start the bench's Flink cluster: " + e.getMessage(), e);
    }
  }

  private void stopCluster() {
    try {
      LocalFlinkCluster.stop(flinkState());
    } catch (FlinkClusterException e) {
      progress.accept("warning: cannot stop the bench's Flink cluster: " + e.getMessage());
    }
  }

  private static void clear(Path dir) throws BenchException {
    try {
      FileTrees.deleteRecursively(dir);
    } catch (IOException e) {
      throw new BenchException("cannot clear " + dir + ": " + e.getMessage(), e);
    }
  }

  /** The first snapshots of the fleet (in list order), for tools that run on a few. */
  public List<Path> firstSnapshots(int count) throws BenchException {
    FleetLists lists = FleetLists.of(plan.fleet());
    return lists.paths().subList(0, Math.min(count, lists.distinct()));
  }
}
