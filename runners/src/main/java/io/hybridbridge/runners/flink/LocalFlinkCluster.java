package io.hybridbridge.runners.flink;

import io.hybridbridge.runners.LogTail;
import java.io.File;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * A real Flink 1.19 standalone cluster on 127.0.0.1: one JobManager ({@code StandaloneSessionClusterEntrypoint})
 * and N TaskManagers ({@code TaskManagerRunner}), each its own JVM started from the Maven-resolved Flink jars, as
 * Flink's own {@code start-cluster.sh} would start them: a generated {@code conf/config.yaml}, memory parameters
 * computed by Flink's {@code BashJavaUtils}, Java 17's {@code --add-opens} set, logs under {@code <state>/log}.
 * The processes outlive the command that started them (their own session, like a daemon); the PID file
 * {@code <state>/cluster.json} lets a later command find, inspect and stop them.
 */
public final class LocalFlinkCluster {
  private static final String HOST = "127.0.0.1";
  private static final String JOBMANAGER = "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
  private static final String TASKMANAGER = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";
  private static final String BASH_JAVA_UTILS = "org.apache.flink.runtime.util.bash.BashJavaUtils";
  private static final String RESULT_PREFIX = "BASH_JAVA_UTILS_EXEC_RESULT:";
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final int LOG_TAIL_LINES = 15;

  /** Flink's {@code env.java.opts.all} for Java 17: the JDK internals Flink, Kryo and Pekko reach into. */
  private static final List<String> JAVA17_OPENS = List.of(
      "--add-exports=java.base/sun.net.util=ALL-UNNAMED",
      "--add-exports=java.rmi/sun.rmi.registry=ALL-UNNAMED",
      "--add-exports=jdk.compiler/com.sun.tools.javac.api=ALL-UNNAMED",
      "--add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED",
      "--add-exports=jdk.compiler/com.sun.tools.javac.parser=ALL-UNNAMED",
      "--add-exports=jdk.compiler/com.sun.tools.javac.tree=ALL-UNNAMED",
      "--add-exports=jdk.compiler/com.sun.tools.javac.util=ALL-UNNAMED",
      "--add-exports=java.security.jgss/sun.security.krb5=ALL-UNNAMED",
      "--add-opens=java.base/java.lang=ALL-UNNAMED",
      "--add-opens=java.base/java.net=ALL-UNNAMED",
      "--add-opens=java.base/java.io=ALL-UNNAMED",
      "--add-opens=java.base/java.nio=ALL-UNNAMED",
      "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens=java.base/java.lang.reflect=ALL-UNNAMED",
      "--add-opens=java.base/java.text=ALL-UNNAMED",
      "--add-opens=java.base/java.time=ALL-UNNAMED",
      "--add-opens=java.base/java.util=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
      "--add-opens=java.base/java.util.concurrent.locks=ALL-UNNAMED");

  private LocalFlinkCluster() {}

  /** What {@code start} found or made: a running cluster, and whether this call started it. */
  public record Started(Status status, boolean alreadyRunning, Duration took) {}

  /** A running cluster: its REST endpoint, its processes and what its REST API says. */
  public record Status(FlinkRest rest, List<FlinkProcess> processes, FlinkRest.Overview overview, List<FlinkRest.Job> jobs,
      Path stateDir) {}

  /**
   * What {@code stop} did: the processes it ended, those that needed SIGKILL after the grace period, and whether
   * it only removed the PID file of a cluster that was no longer running.
   */
  public record Stopped(List<FlinkProcess> ended, List<FlinkProcess> killed, boolean removedStalePidFile, Duration took) {
    public boolean wasRunning() {
      return !ended.isEmpty();
    }
  }

  /**
   * Starts the cluster described by {@code spec} and waits until its REST API shows every TaskManager and slot.
   * When a cluster of the same state directory is already running, returns it unchanged. On any failure the
   * processes started so far are stopped and the error carries the end of their logs.
   */
  public static Started start(FlinkClusterSpec spec, Consumer<String> progress) throws FlinkClusterException {
    long begin = System.nanoTime();
    Path stateDir = spec.stateDir();
    Optional<Status> running = statusOrClearStale(stateDir, progress);
    if (running.isPresent()) {
      return new Started(running.get(), true, Duration.ZERO);
    }
    requireFreePorts(spec);
    String classPath = FlinkDistribution.classPath(progress);
    Path conf = stateDir.resolve("conf");
    Path logDir = stateDir.resolve("log");
    try {
      Files.createDirectories(conf);
      Files.createDirectories(logDir);
      Files.createDirectories(stateDir.resolve("tmp"));
      writeAtomically(conf.resolve("config.yaml"), configYaml(spec));
      writeAtomically(conf.resolve("log4j.properties"), LOG4J_PROPERTIES);
    } catch (IOException e) {
      throw new FlinkClusterException("cannot write the cluster configuration under " + stateDir + ": "
          + e.getMessage(), e);
    }
    ResourceParams jobManagerParams = resourceParams("GET_JM_RESOURCE_PARAMS", classPath, conf, logDir);
    ResourceParams taskManagerParams = resourceParams("GET_TM_RESOURCE_PARAMS", classPath, conf, logDir);

    String restUrl = "http://" + HOST + ":" + spec.restPort();
    ClusterState state = new ClusterState(restUrl, conf.toString(), new ArrayList<>());
    // Our own children, by their Process: until a JVM has exec'd, /proc/<pid>/cmdline can read empty, and the
    // command-line check that guards a PID file against reused PIDs would take it for gone
    Map<FlinkProcess, ProcessHandle> children = new LinkedHashMap<>();
    try {
      progress.accept("starting a Flink 1.19 JobManager and " + spec.taskManagers() + " TaskManager(s) on "
          + restUrl + " (state in " + stateDir + ")");
      long deadline = System.nanoTime() + spec.startTimeout().toNanos();
      launch(children, "jobmanager", JOBMANAGER, jobManagerParams, List.of(), classPath, conf, logDir);
      // TaskManagers bind ephemeral ports: started together, one could take the REST port before the JobManager
      awaitReady(state.rest(), children, spec, 0, deadline);
      for (int i = 0; i < spec.taskManagers(); i++) {
        String role = "taskmanager-" + (i + 1);
        List<String> own = List.of("-D", "taskmanager.rpc.port=" + spec.taskManagerPort(i),
            "-D", "taskmanager.resource-id=" + role);
        launch(children, role, TASKMANAGER, taskManagerParams, own, classPath, conf, logDir);
      }
      state.processes().addAll(children.keySet());
      state.write(stateDir);
      awaitReady(state.rest(), children, spec, spec.taskManagers(), deadline);
    } catch (IOException | FlinkClusterException e) {
      String logs = logTails(children.keySet());
      stopProcesses(children);
      deleteQuietly(stateDir);
      throw new FlinkClusterException(e.getMessage() + "\n" + logs, e);
    }
    return new Started(status(stateDir).orElseThrow(() -> new FlinkClusterException(
        "the cluster stopped right after it started; logs in " + logDir)), false,
        Duration.ofNanos(System.nanoTime() - begin));
  }

  /** The running cluster of {@code stateDir}, or empty when none runs (a stale PID file is left alone). */
  public static Optional<Status> status(Path stateDir) throws FlinkClusterException {
    Optional<ClusterState> state = ClusterState.read(stateDir);
    if (state.isEmpty() || state.get().liveProcesses().isEmpty()) {
      return Optional.empty();
    }
    List<FlinkProcess> live = state.get().liveProcesses();
    FlinkRest rest = state.get().rest();
    try {
      return Optional.of(new Status(rest, live, rest.overview(), rest.jobs(), stateDir));
    } catch (IOException e) {
      throw new FlinkClusterException("the cluster's processes run (" + describe(live) + ") but its REST API at "
          + rest.base() + " does not answer: " + e.getMessage() + "\nLogs: " + stateDir.resolve("log"), e);
    }
  }

  /** Stops the cluster of {@code stateDir}: SIGTERM, then SIGKILL for what is left after 30 s. */
  public static Stopped stop(Path stateDir) throws FlinkClusterException {
    long begin = System.nanoTime();
    Optional<ClusterState> state = ClusterState.read(stateDir);
    if (state.isEmpty()) {
      return new Stopped(List.of(), List.of(), false, Duration.ZERO);
    }
    Map<FlinkProcess, ProcessHandle> live = new LinkedHashMap<>();
    state.get().processes().forEach(daemon -> state.get().live(daemon).ifPresent(handle -> live.put(daemon, handle)));
    List<FlinkProcess> killed = stopProcesses(live);
    try {
      ClusterState.delete(stateDir);
    } catch (IOException e) {
      throw new FlinkClusterException("stopped the processes but cannot delete the PID file in " + stateDir, e);
    }
    return new Stopped(List.copyOf(live.keySet()), killed, live.isEmpty(), Duration.ofNanos(System.nanoTime() - begin));
  }

  private static Optional<Status> statusOrClearStale(Path stateDir, Consumer<String> progress)
      throws FlinkClusterException {
    Optional<ClusterState> state = ClusterState.read(stateDir);
    if (state.isEmpty()) {
      return Optional.empty();
    }
    List<FlinkProcess> live = state.get().liveProcesses();
    if (live.isEmpty()) {
      progress.accept("removing the stale PID file of a cluster that is no longer running");
      deleteQuietly(stateDir);
      return Optional.empty();
    }
    if (live.size() < state.get().processes().size()) {
      List<FlinkProcess> gone = new ArrayList<>(state.get().processes());
      gone.removeAll(live);
      throw new FlinkClusterException("the cluster in " + stateDir + " is only partly running (" + describe(gone)
          + " exited); run `hb flink stop` first. Logs: " + stateDir.resolve("log"));
    }
    return status(stateDir);
  }

  private static void requireFreePorts(FlinkClusterSpec spec) throws FlinkClusterException {
    requireFree(spec.restPort(), "rest.port", "--rest-port");
    requireFree(spec.rpcPort(), "jobmanager.rpc.port", "--rpc-port");
    if (spec.blobPort() != 0) {
      requireFree(spec.blobPort(), "blob.server.port", "--blob-port");
    }
    for (int i = 0; i < spec.taskManagers(); i++) {
      if (spec.taskManagerPort(i) != 0) {
        requireFree(spec.taskManagerPort(i), "taskmanager.rpc.port of TaskManager " + (i + 1),
            "--taskmanager-ports");
      }
    }
  }

  private static void requireFree(int port, String what, String option) throws FlinkClusterException {
    try (ServerSocket socket = new ServerSocket()) {
      socket.setReuseAddress(true);
      socket.bind(new InetSocketAddress(InetAddress.getByName(HOST), port));
    } catch (IOException e) {
      throw new FlinkClusterException("port " + port + " on " + HOST + " (" + what + ") is already in use"
          + " (another Flink cluster?); choose another with " + option);
    }
  }

  private static String configYaml(FlinkClusterSpec spec) {
    Path tmp = spec.stateDir().resolve("tmp");
    return String.join("\n",
        "# Written by `hb flink start`; rewritten on every start.",
        "jobmanager.rpc.address: " + quoted(HOST),
        "jobmanager.bind-host: " + quoted(HOST),
        "jobmanager.rpc.port: " + spec.rpcPort(),
        "jobmanager.memory.process.size: " + quoted(spec.jobManagerMemory()),
        "jobmanager.execution.failover-strategy: region",
        "taskmanager.host: " + quoted(HOST),
        "taskmanager.bind-host: " + quoted(HOST),
        "taskmanager.numberOfTaskSlots: " + spec.slotsPerTaskManager(),
        "taskmanager.memory.process.size: " + quoted(spec.taskManagerMemory()),
        "rest.address: " + quoted(HOST),
        "rest.bind-address: " + quoted(HOST),
        "rest.port: " + spec.restPort(),
        "blob.server.port: " + quoted(String.valueOf(spec.blobPort())),
        "parallelism.default: " + spec.totalSlots(),
        "io.tmp.dirs: " + quoted(tmp.toString()),
        "web.tmpdir: " + quoted(tmp.resolve("web").toString()),
        "# TaskManagers start alongside the JobManager: retry the first registration after 1 s, not 10 s.",
        "cluster.registration.error-delay: 1000",
        "# Each blocking result partition of a batch job takes at least this many network buffers (Flink's default,",
        "# 512, lets a 3g TaskManager hold ~15 at once; a scan, with a partition per table output, needs more).",
        "taskmanager.network.sort-shuffle.min-buffers: 64",
        "");
  }

  private static String quoted(String value) {
    return "\"" + value.replace("\\", "\\\\").replace("\"", "\\\"") + "\"";
  }

  /** Log4j 2 for the daemons: one file per process (the {@code log.file} system property), rewritten per start. */
  private static final String LOG4J_PROPERTIES = String.join("\n",
      "rootLogger.level = INFO",
      "rootLogger.appenderRef.file.ref = File",
      "appender.file.name = File",
      "appender.file.type = File",
      "appender.file.append = false",
      "appender.file.fileName = ${sys:log.file}",
      "appender.file.layout.type = PatternLayout",
      "appender.file.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n",
      "");

  /** JVM options and {@code -D} dynamic properties for one kind of process, as Flink's scripts compute them. */
  private record ResourceParams(List<String> jvmOptions, List<String> dynamicProperties) {}

  private static ResourceParams resourceParams(String command, String classPath, Path conf, Path logDir)
      throws FlinkClusterException {
    Path output = logDir.resolve("bash-java-utils.out");
    List<String> cmd = List.of(javaExecutable(), "-cp", classPath, BASH_JAVA_UTILS, command, "--configDir",
        conf.toString());
    try {
      Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(output.toFile()).start();
      p.getOutputStream().close();
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        throw new FlinkClusterException("Flink's BashJavaUtils " + command + " failed\n" + LogTail.of(output, 30));
      }
      List<String> results = Files.readAllLines(output, StandardCharsets.UTF_8).stream()
          .filter(line -> line.startsWith(RESULT_PREFIX))
          .map(line -> line.substring(RESULT_PREFIX.length()).strip())
          .toList();
      if (results.size() != 2) {
        throw new FlinkClusterException("Flink's BashJavaUtils " + command + " printed " + results.size()
            + " results, expected JVM options and dynamic properties\n" + LogTail.of(output, 30));
      }
      return new ResourceParams(words(results.get(0)), words(results.get(1)));
    } catch (IOException e) {
      throw new FlinkClusterException("cannot run Flink's BashJavaUtils: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FlinkClusterException("interrupted while computing Flink's memory parameters", e);
    }
  }

  private static List<String> words(String line) {
    return line.isBlank() ? List.of() : Arrays.asList(line.split("\\s+"));
  }

  /** Starts one daemon JVM in its own session ({@code setsid}), so that the terminal's signals do not reach it. */
  private static void launch(Map<FlinkProcess, ProcessHandle> children, String role, String mainClass,
      ResourceParams params, List<String> ownProperties, String classPath, Path conf, Path logDir) throws IOException {
    Path log = logDir.resolve(role + ".log");
    List<String> command = new ArrayList<>(List.of("setsid", javaExecutable()));
    command.addAll(params.jvmOptions());
    command.addAll(JAVA17_OPENS);
    command.addAll(List.of("-Dlog.file=" + log, "-Dlog4j.configurationFile=file:" + conf.resolve("log4j.properties"),
        "-classpath", classPath, mainClass, "--configDir", conf.toString()));
    command.addAll(params.dynamicProperties());
    command.addAll(ownProperties);
    Process process = new ProcessBuilder(command)
        .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
        .redirectErrorStream(true)
        .redirectOutput(logDir.resolve(role + ".out").toFile())
        .start();
    children.put(new FlinkProcess(role, process.pid(), log.toString()), process.toHandle());
  }

  /**
   * Waits until the REST API answers with {@code taskManagers} TaskManagers and their slots registered, until {@code
   * deadline} ({@link System#nanoTime}) at most: the whole start shares the spec's start timeout. A child counts as
   * gone only when its process has ended.
   */
  static void awaitReady(FlinkRest rest, Map<FlinkProcess, ProcessHandle> children, FlinkClusterSpec spec,
      int taskManagers, long deadline) throws FlinkClusterException {
    int slots = taskManagers * spec.slotsPerTaskManager();
    String last = "no answer yet";
    while (System.nanoTime() < deadline) {
      List<FlinkProcess> gone = children.entrySet().stream()
          .filter(child -> !child.getValue().isAlive()).map(Map.Entry::getKey).toList();
      if (!gone.isEmpty()) {
        throw new FlinkClusterException(describe(gone) + " exited while the cluster was starting");
      }
      try {
        FlinkRest.Overview overview = rest.overview();
        if (overview.taskManagers() == taskManagers && overview.slotsTotal() == slots) {
          return;
        }
        last = overview.taskManagers() + " of " + taskManagers + " TaskManagers, " + overview.slotsTotal() + " of "
            + slots + " slots";
      } catch (IOException e) {
        last = e.getMessage();
      }
      sleep(Duration.ofMillis(500));
    }
    throw new FlinkClusterException("the cluster did not come up within " + spec.startTimeout().toSeconds()
        + " s (REST " + rest.base() + "/overview: " + last + ")");
  }

  /** SIGTERM to each process (TaskManagers first, as Flink's stop-cluster.sh), SIGKILL after the grace time. */
  private static List<FlinkProcess> stopProcesses(Map<FlinkProcess, ProcessHandle> processes) {
    List<FlinkProcess> order = new ArrayList<>(processes.keySet());
    Collections.reverse(order);
    order.forEach(daemon -> processes.get(daemon).destroy());
    long deadline = System.nanoTime() + STOP_TIMEOUT.toNanos();
    List<FlinkProcess> killed = new ArrayList<>();
    for (FlinkProcess daemon : order) {
      ProcessHandle p = processes.get(daemon);
      try {
        p.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (TimeoutException e) {
        p.destroyForcibly();
        killed.add(daemon);
      } catch (ExecutionException e) {
        // onExit never completes exceptionally; nothing to do
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
        killed.add(daemon);
      }
    }
    return killed;
  }

  /** The end of each process's log, and of its stdout/stderr when the JVM wrote anything there (a crash). */
  private static String logTails(Collection<FlinkProcess> processes) {
    List<String> tails = new ArrayList<>();
    for (FlinkProcess process : processes) {
      tails.add(LogTail.of(Path.of(process.log()), LOG_TAIL_LINES));
      Path out = Path.of(process.log().replaceAll("\\.log$", ".out"));
      if (out.toFile().length() > 0) {
        tails.add(LogTail.of(out, LOG_TAIL_LINES));
      }
    }
    return String.join("\n", tails);
  }

  static String describe(List<FlinkProcess> daemons) {
    return daemons.stream().map(FlinkProcess::toString).collect(Collectors.joining(", "));
  }

  private static void deleteQuietly(Path stateDir) {
    try {
      ClusterState.delete(stateDir);
    } catch (IOException e) {
      // the caller reports the original failure; a PID file left behind is recognised as stale next time
    }
  }

  private static void writeAtomically(Path file, String text) throws IOException {
    Path temp = Files.createTempFile(file.getParent(), file.getFileName().toString(), ".tmp");
    Files.writeString(temp, text, StandardCharsets.UTF_8);
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static String javaExecutable() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static void sleep(Duration duration) throws FlinkClusterException {
    try {
      Thread.sleep(duration.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new FlinkClusterException("interrupted while waiting for the cluster");
    }
  }
}
