package io.hybridbridge.cli;

import io.hybridbridge.runners.flink.FlinkClusterException;
import io.hybridbridge.runners.flink.FlinkClusterSpec;
import io.hybridbridge.runners.flink.FlinkProcess;
import io.hybridbridge.runners.flink.FlinkRest;
import io.hybridbridge.runners.flink.LocalFlinkCluster;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code hb flink start|status|stop|smoke-test}: a real Flink 1.19 standalone cluster on 127.0.0.1. */
@Command(name = "flink", mixinStandardHelpOptions = true,
    description = {"A real Flink 1.19 standalone cluster on 127.0.0.1: a JobManager and TaskManagers as separate "
        + "JVMs started from the Maven-resolved Flink jars, for tests, demos and users without a cluster.",
        "Jobs reach it with --runner=FlinkRunner --flinkMaster=127.0.0.1:<rest port>."},
    subcommands = {FlinkCommand.Start.class, FlinkCommand.Status.class, FlinkCommand.Stop.class,
        SmokeTestCommand.class})
public final class FlinkCommand {
  static final int NOT_RUNNING = 3;

  /** Where a cluster keeps its configuration, logs and PID file; one cluster per directory. */
  static final class StateDir {
    @Option(names = "--state-dir", paramLabel = "DIR",
        defaultValue = "${env:HB_CACHE:-${sys:user.home}/.cache/hybrid-bridge}/flink",
        description = "Cluster configuration, logs and PID file (default: ${DEFAULT-VALUE}).")
    Path dir;
  }

  @Command(name = "start", mixinStandardHelpOptions = true,
      description = {"Start a JobManager and N TaskManagers and wait until every TaskManager and slot is "
          + "registered. Does nothing when the cluster of this state directory already runs.",
          "Logs: <state-dir>/log/. Configuration: <state-dir>/conf/config.yaml (rewritten on each start)."})
  static final class Start implements Callable<Integer> {
    @Mixin StateDir state;

    @Option(names = "--taskmanagers", paramLabel = "N", defaultValue = "2",
        description = "TaskManager processes (default: ${DEFAULT-VALUE}).")
    int taskManagers;

    @Option(names = "--slots", paramLabel = "N", defaultValue = "1",
        description = "Task slots per TaskManager (default: ${DEFAULT-VALUE}).")
    int slots;

    @Option(names = "--rest-port", paramLabel = "PORT", defaultValue = "8081",
        description = "REST API, dashboard and job submission (default: ${DEFAULT-VALUE}).")
    int restPort;

    @Option(names = "--rpc-port", paramLabel = "PORT", defaultValue = "6123",
        description = "JobManager RPC (default: ${DEFAULT-VALUE}).")
    int rpcPort;

    @Option(names = "--blob-port", paramLabel = "PORT", defaultValue = "6124",
        description = "JobManager blob server, 0 for any free port (default: ${DEFAULT-VALUE}).")
    int blobPort;

    @Option(names = "--taskmanager-ports", paramLabel = "FIRST", defaultValue = "6125",
        description = "RPC port of the first TaskManager, the next ones follow; 0 for any free ports "
            + "(default: ${DEFAULT-VALUE}).")
    int taskManagerPorts;

    @Option(names = "--jobmanager-memory", paramLabel = "SIZE", defaultValue = "1g",
        description = "JobManager process size (default: ${DEFAULT-VALUE}).")
    String jobManagerMemory;

    @Option(names = "--taskmanager-memory", paramLabel = "SIZE", defaultValue = "2g",
        description = "Process size of each TaskManager (default: ${DEFAULT-VALUE}).")
    String taskManagerMemory;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "120",
        description = "How long to wait for all TaskManagers to register (default: ${DEFAULT-VALUE}).")
    int timeoutSeconds;

    @Override
    public Integer call() {
      FlinkClusterSpec spec;
      try {
        spec = new FlinkClusterSpec(state.dir, taskManagers, slots, restPort, rpcPort, blobPort, taskManagerPorts,
            jobManagerMemory, taskManagerMemory, Duration.ofSeconds(timeoutSeconds));
      } catch (IllegalArgumentException e) {
        System.err.println("hb flink start: " + e.getMessage());
        return 2;
      }
      try {
        LocalFlinkCluster.Started started = LocalFlinkCluster.start(spec, FlinkCommand::progress);
        if (started.alreadyRunning()) {
          System.out.println("already running (stop it with `hb flink stop` to change its shape)");
        } else {
          System.out.printf("started in %.1f s%n", started.took().toMillis() / 1e3);
        }
        print(started.status());
        return 0;
      } catch (FlinkClusterException e) {
        System.err.println("hb flink start: " + e.getMessage());
        return 1;
      }
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = {"Show the cluster's processes and its REST overview, with its most recent jobs.",
          "Exit status: 0 running, " + NOT_RUNNING + " not running, 1 running but not answering."})
  static final class Status implements Callable<Integer> {
    @Mixin StateDir state;

    @Override
    public Integer call() {
      try {
        Optional<LocalFlinkCluster.Status> status = LocalFlinkCluster.status(state.dir);
        if (status.isEmpty()) {
          System.out.println("not running (state directory " + state.dir + ")");
          return NOT_RUNNING;
        }
        print(status.get());
        return 0;
      } catch (FlinkClusterException e) {
        System.err.println("hb flink status: " + e.getMessage());
        return 1;
      }
    }
  }

  @Command(name = "stop", mixinStandardHelpOptions = true,
      description = "Stop the cluster: SIGTERM to every process, SIGKILL to those still running after 30 s.")
  static final class Stop implements Callable<Integer> {
    @Mixin StateDir state;

    @Override
    public Integer call() {
      try {
        LocalFlinkCluster.Stopped stopped = LocalFlinkCluster.stop(state.dir);
        if (!stopped.wasRunning()) {
          System.out.println("not running" + (stopped.removedStalePidFile()
              ? " (removed the PID file of processes that had already exited)" : ""));
          return 0;
        }
        System.out.printf("stopped %s in %.1f s%n", names(stopped.ended()), stopped.took().toMillis() / 1e3);
        if (!stopped.killed().isEmpty()) {
          System.out.println("killed after the 30 s grace period: " + names(stopped.killed()));
        }
        return 0;
      } catch (FlinkClusterException e) {
        System.err.println("hb flink stop: " + e.getMessage());
        return 1;
      }
    }
  }

  static void progress(String message) {
    System.err.println("hb: " + message);
  }

  private static void print(LocalFlinkCluster.Status status) {
    FlinkRest.Overview o = status.overview();
    System.out.printf("Flink %s cluster at %s (state: %s)%n", o.flinkVersion(), status.rest().base(),
        status.stateDir());
    System.out.println("  processes:    " + names(status.processes()));
    System.out.printf("  TaskManagers: %d, slots: %d (%d free)%n", o.taskManagers(), o.slotsTotal(),
        o.slotsAvailable());
    System.out.printf("  jobs:         %d running, %d finished, %d cancelled, %d failed%n", o.jobsRunning(),
        o.jobsFinished(), o.jobsCancelled(), o.jobsFailed());
    DateTimeFormatter time = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneId.systemDefault());
    status.jobs().stream().limit(10).forEach(job -> System.out.printf("    %s  %-9s %7.1f s  %3d tasks  %s (%s)%n",
        time.format(Instant.ofEpochMilli(job.startTimeMillis())), job.state(), job.durationMillis() / 1e3,
        job.tasks(), job.name(), job.id()));
    System.out.println("  submit with:  --runner=FlinkRunner --flinkMaster=" + status.rest().base().getAuthority());
  }

  private static String names(List<FlinkProcess> processes) {
    return processes.stream().map(FlinkProcess::toString).collect(Collectors.joining(", "));
  }
}
