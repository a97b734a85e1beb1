package io.hybridbridge.cli;

import io.hybridbridge.runners.RunnerOptions;
import io.hybridbridge.runners.Runners;
import io.hybridbridge.runners.SetupException;
import io.hybridbridge.runners.SmokeJob;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hb flink smoke-test}: a small job through a runner, to check a cluster before a real scan uses it. */
@Command(name = "smoke-test", mixinStandardHelpOptions = true,
    description = {"Run a small deterministic Beam job (generated process and module rows, a shuffle, the scan's "
        + "Parquet output stage) on a Flink cluster (default: the local one) or on another runner, and print "
        + "where its tables were committed.",
        "For a remote cluster the shaded jar is staged (built first when missing or stale), and --out must be a "
            + "directory that every TaskManager sees at the same path."})
final class SmokeTestCommand implements Callable<Integer> {
  @Option(names = "--runner", paramLabel = "RUNNER", defaultValue = "FlinkRunner",
      description = "FlinkRunner or DirectRunner (default: ${DEFAULT-VALUE}).")
  String runner;

  @Option(names = "--flinkMaster", paramLabel = "HOST:PORT", defaultValue = "127.0.0.1:8081",
      description = "REST endpoint of the Flink cluster, or [local] for an embedded one (default: ${DEFAULT-VALUE}).")
  String flinkMaster;

  @Option(names = "--parallelism", paramLabel = "N", description = "Job parallelism (default: the runner's).")
  Integer parallelism;

  @Option(names = "--out", paramLabel = "DIR",
      defaultValue = "${env:HB_CACHE:-${sys:user.home}/.cache/hybrid-bridge}/flink/smoke-test",
      description = "Output directory of the Parquet tables (default: ${DEFAULT-VALUE}).")
  Path out;

  @Option(names = "--rows", paramLabel = "N", defaultValue = "10000",
      description = "Process rows to generate (default: ${DEFAULT-VALUE}).")
  int rows;

  @Override
  public Integer call() {
    List<String> args = new ArrayList<>(List.of("--runner=" + runner, "--flinkMaster=" + flinkMaster,
        "--jobName=hb-smoke-test-" + System.currentTimeMillis()));
    if (parallelism != null) {
      args.add("--parallelism=" + parallelism);
    }
    try {
      RunnerOptions options = Runners.options(args.toArray(String[]::new));
      Pipeline pipeline = Runners.pipeline(options, FlinkCommand::progress);
      SmokeJob.expand(pipeline, rows, out.toString(), LocalDate.now());
      FlinkCommand.progress("running job " + options.getJobName() + " on " + runner
          + (Runners.isRemoteFlink(options) ? " at " + flinkMaster : ""));
      long start = System.nanoTime();
      PipelineResult.State state;
      try {
        state = pipeline.run().waitUntilFinish();
      } catch (RuntimeException e) {
        System.err.println("hb flink smoke-test: the job failed: " + rootCause(e));
        return 1;
      }
      System.out.printf("%s: %s in %.1f s; tables under %s%n", options.getJobName(), state,
          (System.nanoTime() - start) / 1e9, out.toAbsolutePath());
      System.out.printf("query: duckdb -c \"SELECT scan_date, count(*) FROM read_parquet('%s/*/processes/*.parquet',"
          + " hive_partitioning = true) GROUP BY ALL\"%n", out.toAbsolutePath());
      return state == PipelineResult.State.DONE ? 0 : 1;
    } catch (SetupException e) {
      System.err.println("hb flink smoke-test: " + e.getMessage());
      return 1;
    } catch (IllegalArgumentException e) {
      System.err.println("hb flink smoke-test: " + e.getMessage());
      return 2;
    }
  }

  /**
   * A failed job's message and, when it does not say it already, its root cause: what a user can act on. Wrappers
   * that say no more than their cause (Beam's and the JDK's message is the cause's toString()) are skipped.
   */
  static String rootCause(Throwable e) {
    Throwable said = e;
    while (said.getCause() != null && said.getCause() != said && String.valueOf(said.getCause()).equals(
        said.getMessage())) {
      said = said.getCause();
    }
    Throwable cause = said;
    while (cause.getCause() != null && cause.getCause() != cause) {
      cause = cause.getCause();
    }
    if (cause == said) {
      return String.valueOf(cause);
    }
    String message = said.getMessage() != null ? said.getMessage() : said.toString();
    boolean saidAlready = cause.getMessage() != null && message.endsWith(cause.getMessage());
    return saidAlready ? message : message + "\n  caused by: " + cause;
  }
}
