package io.hybridbridge.cli;

import io.hybridbridge.cli.ScanCommand.UsageException;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.pipeline.CommittedScan;
import io.hybridbridge.pipeline.ParquetTables;
import io.hybridbridge.runners.RunnerOptions;
import io.hybridbridge.runners.Runners;
import io.hybridbridge.runners.flink.FlinkRest;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.LocalDate;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * What {@code hb scan} checks in the output of one scan date: the jobs of a stopped scan still running on a cluster
 * and the runs a stopped or failed job left in the output's staging directory (every scan), and the entries and
 * builds the date's tables hold ({@code --resume}, and the jobs of a batched scan).
 */
final class ScanResumption {
  private final Path out;
  private final LocalDate date;
  private final Set<String> tools;

  /** @param out the output directory, absolute */
  ScanResumption(Path out, LocalDate date, List<InspectionTool> tools) {
    this.out = out;
    this.date = date;
    this.tools = new TreeSet<>(tools.stream().map(InspectionTool::name).toList());
  }

  /**
   * The start of the names of the jobs that scan into {@code out} for {@code date}: {@code hb-scan-}, a hash of the
   * two, a dash.
   */
  static String jobPrefix(Path out, LocalDate date) {
    String key = out.toAbsolutePath().normalize() + "\n" + date;
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
      return "hb-scan-" + HexFormat.of().formatHex(hash, 0, 4) + "-";
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  /** The first job named with {@code prefix} that Flink has not finished, failed or cancelled. */
  static Optional<FlinkRest.Job> stillRunning(List<FlinkRest.Job> jobs, String prefix) {
    Set<String> ended = Set.of("FINISHED", "FAILED", "CANCELED");
    return jobs.stream().filter(job -> job.name().startsWith(prefix) && !ended.contains(job.state())).findFirst();
  }

  /**
   * On a Flink cluster, the job of a scan whose command was stopped runs on (without the command's {@link
   * OutputLock}) and commits its tables; a scan of the same output and date that went on meanwhile would write the
   * same tables at once, and a resumed one would take that job's staging for an interrupted one. So a scan is
   * refused while a job of the same output and date is not finished there.
   */
  void requireNoJobStillRunning(RunnerOptions options) throws UsageException {
    if (!Runners.isRemoteFlink(options)) {
      return; // Direct and an embedded Flink run in the command's JVM: a stopped command's jobs stopped with it
    }
    FlinkRest rest = FlinkRest.ofMaster(options.getFlinkMaster());
    List<FlinkRest.Job> jobs;
    try {
      jobs = rest.jobs();
    } catch (IOException e) {
      throw new UsageException("cannot list the jobs of the Flink cluster at " + rest.base() + " (to check that no job"
          + " of this scan still runs there): " + e.getMessage());
    }
    Optional<FlinkRest.Job> running = stillRunning(jobs, jobPrefix(out, date));
    if (running.isPresent()) {
      throw new UsageException("job " + running.get().id() + " (" + running.get().name() + ") of a scan into " + out
          + " for " + date + " is still " + running.get().state() + " on " + rest.base() + ": wait for it to end, or "
          + "cancel it, then run the scan again (with --resume to keep what it commits)");
    }
  }

  /**
   * Ends the jobs of the date that stopped while writing to the output: one that stopped while committing its
   * tables has them all committed (a resumed scan then skips its entries), one that stopped before has what it wrote
   * removed. Only under the date's {@link OutputLock}, so that none of them is running.
   */
  void endInterruptedRuns() throws UsageException {
    try {
      for (ParquetTables.InterruptedRun run : ParquetTables.endInterruptedRuns(out, date)) {
        FlinkCommand.progress(run.committed()
            ? "finished the commit of the tables of a job that stopped while committing them (" + run.run() + ")"
            : "removed what a job that stopped before its commit had written (" + run.run() + ")");
      }
    } catch (IOException e) {
      throw new UsageException("cannot end the interrupted jobs in " + out + ": " + e.getMessage());
    }
  }

  /**
   * The date's committed tables; refused when they were written with other tools (their entries would lack this
   * scan's tables, or have rows of tools it does not run).
   */
  CommittedScan committed() throws UsageException {
    CommittedScan committed;
    try {
      committed = CommittedScan.read(out, date);
    } catch (IOException e) {
      throw new UsageException("cannot read the committed tables of " + date + " in " + out + ": " + e.getMessage());
    }
    if (!committed.tools().isEmpty() && !committed.tools().equals(tools)) {
      throw new UsageException("the tables of " + date + " in " + out + " were written with --tools "
          + String.join(",", new TreeSet<>(committed.tools())) + ": resume with the same tools, or scan another "
          + "--scan-date");
    }
    return committed;
  }
}
