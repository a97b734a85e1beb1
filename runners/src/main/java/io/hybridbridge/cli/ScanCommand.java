package io.hybridbridge.cli;

import io.hybridbridge.datasets.HbCache;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.ToolException;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.fastexec.FastPath;
import io.hybridbridge.fastexec.cli.TrainCommand;
import io.hybridbridge.pipeline.CommittedScan;
import io.hybridbridge.pipeline.Engines;
import io.hybridbridge.pipeline.MetadataDirectory;
import io.hybridbridge.pipeline.ParquetTables;
import io.hybridbridge.pipeline.RecordCoder;
import io.hybridbridge.pipeline.SameFile;
import io.hybridbridge.pipeline.Scan;
import io.hybridbridge.pipeline.ScanCounters;
import io.hybridbridge.pipeline.ScanInputException;
import io.hybridbridge.pipeline.ScanTargets;
import io.hybridbridge.pipeline.engine.EngineException;
import io.hybridbridge.runners.RunnerOptions;
import io.hybridbridge.runners.Runners;
import io.hybridbridge.runners.SetupException;
import io.hybridbridge.runners.flink.FlinkJobCounters;
import io.hybridbridge.runners.flink.FlinkRest;
import io.hybridbridge.schemas.ScanTarget;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.values.PCollection;
import org.joda.time.Duration;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hb scan}: the scan job of DESIGN §4 over a manifest or a glob of snapshots, on Direct or Flink. */
@Command(name = "scan", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Inspect memory snapshots: identify each one's kernel build and reference, run the tools, and write "
        + "Parquet tables under OUT/scan_date=D/<table>/ (committed atomically).",
        "Tables: snapshots, status (one row per snapshot and tool, and one per snapshot that failed before any tool), "
            + "fallbacks, metadata (one row per entry of the metadata store version the scan wrote or read), and one per "
            + "tool (processes, modules, sockets, system, mounts).",
        "--tools none identifies the snapshots only (tables snapshots and status)."})
public final class ScanCommand implements Callable<Integer> {
  /** Exit code of a usage or input error (nothing ran). */
  static final int USAGE = 2;

  @ArgGroup(exclusive = true, multiplicity = "1")
  Input input;

  static final class Input {
    @Option(names = "--manifest", paramLabel = "M", required = true,
        description = "A dataset directory or its manifest.json (its SNAPSHOT entries), or a snapshot list: a JSON array "
            + "of {\"path\", \"id\", \"vmId\", \"labels\"} or an Avro file of ScanTarget records.")
    Path manifest;

    @Option(names = "--snapshots", paramLabel = "GLOB", required = true,
        description = "Snapshot files matched by a Beam file-system glob (local, or a registered scheme).")
    String glob;
  }

  @Option(names = "--out", paramLabel = "DIR", required = true,
      description = "Output directory (a path every worker sees).")
  Path out;

  @Option(names = "--tools", paramLabel = "LIST", defaultValue = "all",
      description = "all, none, or a comma-separated list of ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).",
      completionCandidates = ToolNames.class)
  String tools;

  @Option(names = "--references", paramLabel = "DIR",
      description = "Dataset directory whose manifest.json lists the trusted references (default: the default dataset).")
  Path references;

  @Option(names = "--metadata", paramLabel = "DIR",
      description = "The fast path's versioned metadata store, read at the start and given one new version with what "
          + "the scan learnt (default: ${DEFAULT-VALUE}, as `hb inspect --store`).")
  Path metadata = TrainCommand.defaultMetadataDirectory().resolve("store");

  @Option(names = "--runner", paramLabel = "RUNNER", defaultValue = "DirectRunner",
      description = "DirectRunner or FlinkRunner (default: ${DEFAULT-VALUE}).")
  String runner;

  @Option(names = "--flinkMaster", paramLabel = "HOST:PORT",
      description = "Flink REST endpoint (e.g. 127.0.0.1:8081 for `hb flink start`), or [local] for an embedded one.")
  String flinkMaster;

  @Option(names = "--parallelism", paramLabel = "N", description = "Job parallelism (default: the runner's).")
  Integer parallelism;

  @Option(names = "--scan-date", paramLabel = "YYYY-MM-DD", description = "Partition to write (default: today).")
  LocalDate scanDate;

  @Option(names = "--training-samples", paramLabel = "N", defaultValue = "1",
      description = "Snapshots per kernel build the training runs on (default: ${DEFAULT-VALUE}).")
  int trainingSamples;

  @Option(names = "--translate-after", paramLabel = "N", defaultValue = "" + FastPath.TRANSLATE_AFTER,
      description = "Fast inspections each worker's fast path of a kernel build runs before it translates the "
          + "build's hot code to JVM bytecode, with what earlier fast paths translated (kept in the metadata store's "
          + "translated/): the JIT's work on it pays only on long scans (default: ${DEFAULT-VALUE}).")
  int translateAfter;

  @Option(names = "--batch-size", paramLabel = "N",
      description = "Scan the list in jobs of at most N entries (the entries of one file in the same job), each "
          + "committed to the tables when it ends and starting from the metadata store the one before left: a failure "
          + "loses only the job it stopped, and --resume goes on from there (default: one job).")
  Integer batchSize;

  @Option(names = "--resume",
      description = "Go on with the scan of this --out and --scan-date: entries the date's committed status table "
          + "lists are skipped, and the others' rows are added to the date's tables (not replacing them).")
  boolean resume;

  /** The tool names, for --tools' help. */
  static final class ToolNames extends ArrayList<String> {
    ToolNames() {
      super(Tools.ALL.stream().map(InspectionTool::name).toList());
    }
  }

  @Override
  public Integer call() {
    try {
      return scan();
    } catch (UsageException | ScanInputException | SetupException | EngineException | IllegalArgumentException e) {
      System.err.println("hb scan: " + e.getMessage());
      return USAGE;
    }
  }

  private int scan() throws UsageException, ScanInputException, SetupException, EngineException {
    List<InspectionTool> toolList = toolList();
    Path referenceDir = references != null ? references : ReferenceStore.defaultDatasetDirectory();
    requireReferences(referenceDir);
    requireWritable(out, "--out");
    if (!toolList.isEmpty()) {
      requireWritable(metadata, "--metadata");
    }
    if (batchSize != null && batchSize < 1) {
      throw new UsageException("--batch-size must be at least 1, not " + batchSize);
    }
    LocalDate date = scanDate != null ? scanDate : LocalDate.now();
    List<ScanTarget> targets = input.manifest != null
        ? ScanTargets.fromManifest(input.manifest) : ScanTargets.fromGlob(input.glob);
    try (OutputLock lock = OutputLock.acquire(out.toAbsolutePath().normalize(), date)) {
      return scan(date, targets, toolList, referenceDir);
    }
  }

  /** The scan, under the lock of its output and date. */
  private int scan(LocalDate date, List<ScanTarget> targets, List<InspectionTool> toolList, Path referenceDir)
      throws UsageException, SetupException, EngineException {
    ScanResumption resumption = new ScanResumption(out.toAbsolutePath().normalize(), date, toolList);
    resumption.requireNoJobStillRunning(Runners.options(runnerArgs(0, date)));
    // Every scan, not only --resume: a job that failed (a full disk, say) left its staging, which would hold the space
    // the next scan of the date needs.
    resumption.endInterruptedRuns();
    CommittedScan committed = resume ? resumption.committed() : CommittedScan.NONE;
    List<ScanTarget> left = targets.stream().filter(t -> !committed.done().contains(t.getId())).toList();
    if (resume) {
      FlinkCommand.progress(String.format("resuming the scan of %s in %s: %d of the %d entries listed are committed, "
          + "%d left", date, out.toAbsolutePath(), targets.size() - left.size(), targets.size(), left.size()));
      if (left.isEmpty()) {
        System.out.println("nothing left to scan: every entry listed has its rows in " + ParquetTables.tableDir(
            out.toAbsolutePath().normalize(), date, Scan.STATUS));
        return 0;
      }
    }
    List<List<ScanTarget>> batches = SameFile.batches(left, batchSize != null ? batchSize : left.size());
    // A file listed under several entries is inspected once (SameFile): progress counts files.
    int files = (int) SameFile.distinctFiles(left);
    FlinkCommand.progress(String.format("scanning %d snapshot(s)%s with %s on %s%s%s; references %s; output %s",
        left.size(), files == left.size() ? "" : " in " + files + " distinct file(s), each inspected once",
        toolList.isEmpty() ? "no tools (identification only)" : names(toolList), runner,
        flinkMaster != null ? " at " + flinkMaster : "", batches.size() == 1 ? "" : ", in " + batches.size()
            + " jobs of at most " + batchSize + " entries, each committed when it ends", referenceDir,
        out.toAbsolutePath()));

    Map<String, Long> counters = new TreeMap<>();
    long versionRead = -1;
    long start = System.nanoTime();
    CommittedScan before = committed;
    for (int k = 0; k < batches.size(); k++) {
      String batch = batches.size() == 1 ? "" : "batch " + (k + 1) + "/" + batches.size() + ": ";
      List<ScanTarget> entries = batches.get(k);
      Optional<JobEnd> result;
      try {
        Optional<Scan.Engine<?>> engine = toolList.isEmpty() ? Optional.empty()
            : Optional.of(Engines.real(referenceDir, metadata, translateAfter)); // the store as the last batch left it
        if (k == 0) {
          engine.ifPresent(e -> e.base().notes().forEach(FlinkCommand::progress));
          versionRead = engine.map(e -> e.base().number()).orElse(-1L);
        }
        boolean appending = resume || k > 0;
        ParquetTables output = ParquetTables.write(out.toString(), date);
        if (appending) { // the metadata table: the newest entries of every build the date's tables name
          output = output.appending(Set.of(Scan.METADATA));
        }
        int batchFiles = (int) SameFile.distinctFiles(entries);
        if (!batch.isEmpty()) {
          FlinkCommand.progress(batch + entries.size() + (entries.size() == 1 ? " entry, " : " entries, ") + batchFiles
              + " file(s)" + engine.map(e -> ", metadata store version " + e.base().number()).orElse(""));
        }
        result = runJob(k, date, entries, batchFiles, toolList, referenceDir, engine, output,
            appending ? before.builds() : Map.of(), batch);
      } catch (EngineException | SetupException e) {
        if (k == 0 && !resume) {
          throw e; // nothing ran: a usage error, as before any job
        }
        System.err.println("hb scan: " + batch + "cannot start: " + e.getMessage());
        return stopped(k, batches, batch, "could not start", date);
      }
      result.map(JobEnd::counters).ifPresent(c -> c.forEach((name, n) -> counters.merge(name, n, Long::sum)));
      PipelineResult.State state = result.map(JobEnd::state).orElse(PipelineResult.State.FAILED);
      if (state != PipelineResult.State.DONE) {
        printSummary(state, (System.nanoTime() - start) / 1e9, files, toolList, counters, date, versionRead);
        if (k > 0 || resume) {
          return stopped(k, batches, batch, state.toString(), date);
        }
        System.err.printf("hb scan: the job's tables are not committed; the next scan of %s into %s removes what it "
            + "wrote (or finishes a commit it stopped in the middle of)%n", date, out.toAbsolutePath());
        return 1;
      }
      if (k + 1 < batches.size()) {
        before = resumption.committed();
      }
    }
    printSummary(PipelineResult.State.DONE, (System.nanoTime() - start) / 1e9, files, toolList, counters, date,
        versionRead);
    return 0;
  }

  /**
   * Says that job {@code k} stopped the scan and how to go on (the jobs before it, or a scan resumed, committed
   * their entries), and returns the exit code of a failed scan.
   */
  private static int stopped(int k, List<List<ScanTarget>> batches, String batch, String how, LocalDate date) {
    System.err.printf("hb scan: %s%s; the tables of %s hold every entry committed before it: run the same command "
        + "with --resume to scan the %d entries left%n", batch.isEmpty() ? "the job " : batch, how, date,
        batches.subList(k, batches.size()).stream().mapToInt(List::size).sum());
    return 1;
  }

  /** How a job ended, and its counters (as far as it went). */
  private record JobEnd(PipelineResult.State state, Map<String, Long> counters) {}

  /**
   * Runs one job of the scan over {@code entries} and waits for it, showing progress; how it ended, also when it
   * failed with an exception (said on stderr; its counters as far as they are known); empty when it could not run.
   */
  private Optional<JobEnd> runJob(int k, LocalDate date, List<ScanTarget> entries, int files,
      List<InspectionTool> toolList, Path referenceDir, Optional<Scan.Engine<?>> engine, ParquetTables output,
      Map<String, String> earlierBuilds, String batch) throws SetupException {
    RunnerOptions options = Runners.options(runnerArgs(k, date));
    boolean direct = DirectRunner.class.equals(options.getRunner());
    if (direct) {
      options.setBlockOnRun(false); // so that progress can be polled while it runs
    }
    Pipeline pipeline = Runners.pipeline(options, FlinkCommand::progress);
    PTransform<PCollection<ScanTarget>, PCollection<String>> scan = engine.isPresent()
        ? Scan.inspecting(referenceDir, toolList, engine.get(), output).withTrainingSamples(trainingSamples)
            .withEarlierBuilds(earlierBuilds)
        : Scan.identifyOnly(referenceDir, output);
    pipeline.apply("Snapshots", Create.of(entries).withCoder(RecordCoder.of(ScanTarget.class)))
        .apply("Scan", scan);
    ScheduledExecutorService clusterProgress = Runners.isRemoteFlink(options)
        ? showFlinkProgress(options.getFlinkMaster(), options.getJobName(), files, toolList.size(), batch) : null;
    PipelineResult result = null;
    try {
      result = pipeline.run();
      if (direct) {
        waitShowingProgress(result, files, toolList.size(), batch);
      } else { // blocks until the job ends
        result.waitUntilFinish();
      }
      return Optional.of(new JobEnd(result.getState(), ScanCounters.read(result)));
    } catch (RuntimeException e) {
      System.err.println("hb scan: " + (batch.isEmpty() ? "the job" : batch.substring(0, batch.length() - 2))
          + " failed: " + SmokeTestCommand.rootCause(e));
      // Direct's result still says RUNNING then; its counters say how far the job went.
      return Optional.ofNullable(result).map(failed -> new JobEnd(PipelineResult.State.FAILED, countersOf(failed)));
    } finally {
      if (clusterProgress != null) {
        clusterProgress.shutdownNow();
      }
    }
  }

  /** The counters of a job that failed, or none when the runner cannot give them any more. */
  private static Map<String, Long> countersOf(PipelineResult failed) {
    try {
      return ScanCounters.read(failed);
    } catch (RuntimeException e) {
      return Map.of();
    }
  }

  private List<InspectionTool> toolList() throws UsageException {
    if (tools.equals("none")) {
      return List.of();
    }
    try {
      return Tools.parseList(tools);
    } catch (ToolException e) {
      throw new UsageException(e.getMessage() + " (or all, none)");
    }
  }

  /** The newest version of the metadata store, or "?" when it cannot be read. */
  private String newestVersion() {
    try {
      return String.valueOf(new MetadataDirectory(metadata).index().number());
    } catch (EngineException e) {
      return "? (" + e.getMessage() + ")";
    }
  }

  /**
   * A directory the scan writes into must be one it can write, checked before the job runs (a job would find out
   * only at its end, after all the work).
   */
  private static void requireWritable(Path dir, String option) throws UsageException {
    try {
      Files.createDirectories(dir);
    } catch (IOException e) {
      throw new UsageException(option + " " + dir + ": cannot create it: " + e.getMessage());
    }
    if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
      throw new UsageException(option + " " + dir + ": not a writable directory");
    }
  }

  private static void requireReferences(Path dir) throws UsageException {
    try {
      if (ReferenceStore.open(dir).references().isEmpty()) {
        throw new UsageException("no trusted references in " + dir + " (a dataset directory whose manifest.json "
            + "lists REFERENCE entries; make the default one with `hb datasets build`)");
      }
    } catch (IOException e) {
      throw new UsageException("cannot read the references of " + dir + ": " + e.getMessage());
    }
  }

  /**
   * The runner's arguments for job {@code batch} (from 0) of this scan. Its name starts with {@link
   * ScanResumption#jobPrefix}, so that a resumed scan can find the jobs of the same output still running on a
   * cluster.
   */
  private String[] runnerArgs(int batch, LocalDate date) {
    List<String> args = new ArrayList<>(List.of("--runner=" + runner, "--jobName=" + ScanResumption.jobPrefix(out, date)
        + System.currentTimeMillis() + (batch == 0 ? "" : "-" + (batch + 1))));
    if (flinkMaster != null) {
      args.add("--flinkMaster=" + flinkMaster);
    }
    if (parallelism != null) {
      args.add("--parallelism=" + parallelism);
    }
    return args.toArray(String[]::new);
  }

  /**
   * Polls the counters every second and prints a progress line to stderr whenever it changes, until the job ends.
   */
  private static void waitShowingProgress(PipelineResult result, int snapshots, int tools, String batch) {
    ProgressClock clock = new ProgressClock(System.nanoTime());
    String last = "";
    while (true) {
      PipelineResult.State state = result.waitUntilFinish(Duration.standardSeconds(1));
      if (state != null && state.isTerminal()) {
        return;
      }
      Map<String, Long> counters = ScanCounters.read(result);
      String line = batch + progressLine(counters, snapshots, tools);
      if (!line.equals(last)) {
        FlinkCommand.progress(line + clock.at(counters, snapshots, tools, System.nanoTime()));
        last = line;
      }
    }
  }

  /**
   * Polls the cluster's REST API every 2 s while the (blocking) submission to a Flink cluster runs, and prints a
   * progress line from the job's Beam counters whenever it changes, marked "(running)". The counters lag by up to
   * one TaskManager heartbeat (Flink's {@code heartbeat.interval}).
   */
  private static ScheduledExecutorService showFlinkProgress(String master, String jobName, int snapshots,
      int tools, String batch) {
    FlinkRest rest = FlinkRest.ofMaster(master);
    ProgressClock clock = new ProgressClock(System.nanoTime());
    AtomicReference<String> last = new AtomicReference<>("");
    ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(task -> {
      Thread thread = new Thread(task, "flink-progress");
      thread.setDaemon(true);
      return thread;
    });
    poller.scheduleWithFixedDelay(() -> {
      try {
        FlinkJobCounters.read(rest, jobName, ScanCounters.NAMESPACE)
            .filter(sample -> sample.state().equals("RUNNING")).ifPresent(sample -> {
              if (last.get().isEmpty()) {
                FlinkCommand.progress("job " + sample.jobId() + " running on " + rest.base() + " (its dashboard)");
              }
              String line = batch + progressLine(sample.counters(), snapshots, tools);
              if (!line.equals(last.getAndSet(line))) {
                FlinkCommand.progress(line + clock.at(sample.counters(), snapshots, tools, System.nanoTime())
                    + " (running)");
              }
            });
      } catch (IOException | RuntimeException e) {
        // not submitted yet, or the REST API is busy: the next poll tries again
      }
    }, 2, 2, TimeUnit.SECONDS);
    return poller;
  }

  static String progressLine(Map<String, Long> c, int snapshots, int tools) {
    long identified = c.getOrDefault(ScanCounters.IDENTIFIED, 0L);
    long failedEarly = c.getOrDefault(ScanCounters.IDENTIFY_FAILED, 0L);
    StringBuilder line = new StringBuilder(String.format("identified %d/%d, %d failed", identified, snapshots,
        failedEarly));
    if (tools > 0) {
      long fast = c.getOrDefault(ScanCounters.OK_FAST, 0L);
      long slow = c.getOrDefault(ScanCounters.OK_SLOW, 0L);
      long failed = c.getOrDefault(ScanCounters.FAILED, 0L);
      line.append(String.format(" | inspected %d/%d (fast %d, slow %d, failed %d) | trained %d | fallbacks %d",
          fast + slow + failed, identified * tools, fast, slow, failed, c.getOrDefault(ScanCounters.TRAINED, 0L),
          c.getOrDefault(ScanCounters.FALLBACKS, 0L)));
    }
    return line.toString();
  }

  /**
   * The time since a job started and, once part of its work is done, about how long is left: at the rate since the
   * first part was seen done, so that identification (and a cold store's training), which come first, do not count
   * as the rate of the inspections (" | 1:05 in, about 0:40 left").
   */
  static final class ProgressClock {
    private final long start;
    private long firstDone = -1;
    private long firstDoneAt;

    ProgressClock(long startNanos) {
      this.start = startNanos;
    }

    String at(Map<String, Long> c, int snapshots, int tools, long nowNanos) {
      long failedEarly = c.getOrDefault(ScanCounters.IDENTIFY_FAILED, 0L);
      long total = tools == 0 ? snapshots : (snapshots - failedEarly) * tools;
      long done = tools == 0 ? c.getOrDefault(ScanCounters.IDENTIFIED, 0L) + failedEarly
          : c.getOrDefault(ScanCounters.OK_FAST, 0L) + c.getOrDefault(ScanCounters.OK_SLOW, 0L)
              + c.getOrDefault(ScanCounters.FAILED, 0L);
      String timing = " | " + clock(nowNanos - start) + " in";
      if (done > 0 && firstDone < 0) {
        firstDone = done;
        firstDoneAt = nowNanos;
      }
      return firstDone >= 0 && done > firstDone && done < total
          ? timing + ", about " + clock((nowNanos - firstDoneAt) / (done - firstDone) * (total - done)) + " left"
          : timing;
    }
  }

  /** Nanoseconds as h:mm:ss, or m:ss under an hour. */
  static String clock(long nanos) {
    long seconds = TimeUnit.NANOSECONDS.toSeconds(nanos);
    return seconds >= 3600 ? String.format("%d:%02d:%02d", seconds / 3600, seconds / 60 % 60, seconds % 60)
        : String.format("%d:%02d", seconds / 60, seconds % 60);
  }

  /** @param versionRead the metadata store version the scan started from (unused without tools) */
  private void printSummary(PipelineResult.State state, double seconds, int snapshots, List<InspectionTool> toolList,
      Map<String, Long> c, LocalDate date, long versionRead) {
    Path output = out.toAbsolutePath().normalize();
    System.out.printf("scan %s in %.1f s: %s%n", state, seconds, progressLine(c, snapshots, toolList.size()));
    if (!toolList.isEmpty()) {
      long copied = c.getOrDefault(ScanCounters.COPIED_ROWS, 0L);
      System.out.printf("rows %d%s; metadata store %s: %s%n", c.getOrDefault(ScanCounters.ROWS, 0L),
          copied == 0 ? "" : " (and " + copied + " rows of all tables copied to entries that list an inspected file)",
          metadata.toAbsolutePath(), c.getOrDefault(ScanCounters.METADATA_COMMITS, 0L) > 0
              ? "read version " + versionRead + ", wrote version " + newestVersion() + " with what this scan learnt"
              : "version " + versionRead + " read, unchanged");
      long closed = c.getOrDefault(ScanCounters.FAST_PATHS_CLOSED, 0L);
      if (closed > 0) { // each reopened later costs 0.1-0.3 s: a larger heap keeps more builds' fast paths open
        System.out.printf("fast paths closed to bound the heap, and opened again when their build came back: %d "
            + "(a larger -Xmx keeps more open)%n", closed);
      }
    }
    if (state != PipelineResult.State.DONE) {
      return;
    }
    System.out.println("tables:");
    for (String table : tables(toolList)) {
      Path dir = ParquetTables.tableDir(output, date, table);
      System.out.printf("  %-10s %s%s%n", table, dir, Files.isDirectory(dir) ? "" : " (missing!)");
    }
    System.out.println("query (DuckDB):");
    System.out.printf("  duckdb -c \"SELECT scan_date, kernel_build, tool, outcome, count(*) AS n, round(avg(wall_ms))"
        + " AS avg_ms FROM %s GROUP BY ALL ORDER BY ALL; SELECT scan_date, snapshot_id, vm_id, tool, failure_kind,"
        + " reason FROM %s WHERE outcome = 'FAILED' ORDER BY ALL\"%n", table(output, Scan.STATUS),
        table(output, Scan.STATUS));
    if (!toolList.isEmpty()) {
      System.out.printf("  duckdb -c \"SELECT kernel_build, tool, store_version, decision, count(*) AS entries FROM %s"
          + " WHERE scan_date = DATE '%s' GROUP BY ALL ORDER BY ALL\"%n", table(output, Scan.METADATA), date);
    }
    if (toolList.stream().anyMatch(t -> t.table().equals("processes"))) {
      System.out.printf("  duckdb -c \"SELECT snapshot_id, vm_id, kernel_build, pid, ppid, comm, cmdline FROM %s"
          + " WHERE scan_date = DATE '%s' ORDER BY ALL\"%n", table(output, "processes"), date);
    }
  }

  /** A table of every scan date under {@code output}, as DuckDB reads it. */
  private static String table(Path output, String name) {
    return "read_parquet('" + output + "/*/" + name + "/*.parquet', hive_partitioning = true)";
  }

  private static Set<String> tables(List<InspectionTool> toolList) {
    Set<String> tables = new LinkedHashSet<>(List.of(Scan.SNAPSHOTS, Scan.STATUS));
    if (!toolList.isEmpty()) {
      tables.add(Scan.FALLBACKS);
      tables.add(Scan.METADATA);
      toolList.forEach(tool -> tables.add(tool.table()));
    }
    return tables;
  }

  private static String names(List<InspectionTool> toolList) {
    return String.join(",", toolList.stream().map(InspectionTool::name).toList());
  }

  /** A usage or input problem found before anything ran. */
  static final class UsageException extends Exception {
    UsageException(String message) {
      super(message);
    }
  }
}
