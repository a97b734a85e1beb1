package io.hybridbridge.runners;

import io.hybridbridge.runners.flink.FlinkRest;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.runners.flink.FlinkRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.options.PipelineOptionsFactory;

/**
 * Creates the {@link Pipeline} of a job for the runner its options name: Direct (embedded, the default) or Flink
 * (embedded, or a remote cluster that receives the shaded jar). Jobs build their transforms on the result and
 * call {@code run()}; nothing else in a job depends on the runner.
 */
public final class Runners {
  /** The Flink minor version of beam-runners-flink-1.19: the only one a job can be submitted to. */
  public static final String FLINK_MINOR = "1.19";

  /** Flink master values that run an embedded Flink in this JVM rather than submitting to a cluster. */
  private static final Set<String> EMBEDDED_FLINK = Set.of("[local]", "[auto]", "[collection]");

  static {
    PipelineOptionsFactory.register(RunnerOptions.class);
  }

  private Runners() {}

  /**
   * The Direct runner's per-element checks (immutability and encodability of every element) guard against bugs in
   * transforms; their tests run with them ({@code TestPipeline}), jobs do not unless asked: on the smoke job they
   * cost 3× (5,000 rows: 23 s with them, 7 s without).
   */
  private static final List<String> DIRECT_JOB_DEFAULTS =
      List.of("--enforceImmutability=false", "--enforceEncodability=false");

  /** Options from Beam-style arguments ({@code --runner=FlinkRunner}, ...), validated; Direct when none is named. */
  public static RunnerOptions options(String... args) {
    List<String> all = new ArrayList<>(List.of(args));
    for (String fallback : DIRECT_JOB_DEFAULTS) {
      String name = fallback.substring(0, fallback.indexOf('=') + 1);
      if (all.stream().noneMatch(arg -> arg.startsWith(name))) {
        all.add(fallback);
      }
    }
    return PipelineOptionsFactory.fromArgs(all.toArray(String[]::new)).withValidation().as(RunnerOptions.class);
  }

  /** True when {@code options} submit to a remote Flink cluster (which then needs the job's code as a jar). */
  public static boolean isRemoteFlink(RunnerOptions options) {
    return FlinkRunner.class.equals(options.getRunner()) && !EMBEDDED_FLINK.contains(options.getFlinkMaster());
  }

  /**
   * A pipeline for {@code options}, after preparing them for their runner: the shaded jar (built first if missing
   * or stale; {@code progress} hears about it) is staged to a remote Flink cluster unless files to stage are
   * given, and {@code --parallelism} also sets the Direct runner's.
   */
  public static Pipeline pipeline(RunnerOptions options, Consumer<String> progress) throws SetupException {
    if (isRemoteFlink(options)) {
      requireCompatibleCluster(options.getFlinkMaster());
      if (options.getFilesToStage() == null || options.getFilesToStage().isEmpty()) {
        options.setFilesToStage(List.of(ShadedJar.ensureBuilt(progress).toString()));
      }
    }
    if (DirectRunner.class.equals(options.getRunner()) && options.getParallelism() > 0) {
      options.setTargetParallelism(options.getParallelism());
    }
    return Pipeline.create(options);
  }

  /**
   * Asks the cluster's REST API for its version before anything is built or uploaded: an unreachable master or
   * another Flink minor version would otherwise fail only after minutes of retries, with a stack trace.
   */
  private static void requireCompatibleCluster(String master) throws SetupException {
    FlinkRest rest = FlinkRest.ofMaster(master);
    String version;
    try {
      version = rest.overview().flinkVersion();
    } catch (IOException | IllegalArgumentException e) {
      throw new SetupException("no Flink cluster answers at --flinkMaster=" + master + " (" + e.getMessage()
          + "); start one with `hb flink start` or give the JobManager's REST address as --flinkMaster=host:port", e);
    }
    if (!version.startsWith(FLINK_MINOR + ".")) {
      throw new SetupException("the cluster at " + rest + " runs Flink " + version + ", but jobs are built for Flink "
          + FLINK_MINOR + " (Beam's beam-runners-flink-" + FLINK_MINOR + "); use a Flink " + FLINK_MINOR + " cluster");
    }
  }
}
