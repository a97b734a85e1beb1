package io.hybridbridge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.pipeline.ScanCounters;
import io.hybridbridge.runners.flink.FlinkRest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hb scan} as a user runs it: refusals before anything runs, and scans on Direct of a snapshot list with a
 * missing file (identification only, then two tools with an empty metadata store); the printed DuckDB queries run.
 */
class ScanCommandTest {
  @TempDir Path dir;

  @Test
  void progressSaysHowLongTheJobRanAndAboutHowLongIsLeftAtTheRateOfItsInspections() {
    long minute = java.util.concurrent.TimeUnit.MINUTES.toNanos(1);
    ScanCommand.ProgressClock clock = new ScanCommand.ProgressClock(0);
    // 10 snapshots, one failed identification, 2 tools: 18 inspections. Identification took the first minute.
    java.util.Map<String, Long> identified = java.util.Map.of(ScanCounters.IDENTIFY_FAILED, 1L,
        ScanCounters.IDENTIFIED, 9L);
    assertThat(clock.at(identified, 10, 2, minute)).isEqualTo(" | 1:00 in");
    assertThat(clock.at(inspected(2), 10, 2, minute + minute / 6)).as("the first seen done").isEqualTo(" | 1:10 in");
    // 4 more in the next 20 s: 12 left, 60 s.
    assertThat(clock.at(inspected(6), 10, 2, minute + minute / 2)).isEqualTo(" | 1:30 in, about 1:00 left");
    assertThat(clock.at(inspected(18), 10, 2, 3 * minute)).as("all done").isEqualTo(" | 3:00 in");
    // identification only, 1 of 10 snapshots seen in the first hour, then 8 more in 80 minutes
    ScanCommand.ProgressClock identifying = new ScanCommand.ProgressClock(0);
    identifying.at(java.util.Map.of(ScanCounters.IDENTIFIED, 1L), 10, 0, 60 * minute);
    assertThat(identifying.at(java.util.Map.of(ScanCounters.IDENTIFIED, 8L, ScanCounters.IDENTIFY_FAILED, 1L), 10, 0,
        140 * minute)).isEqualTo(" | 2:20:00 in, about 10:00 left");
  }

  private static java.util.Map<String, Long> inspected(long done) {
    return java.util.Map.of(ScanCounters.IDENTIFY_FAILED, 1L, ScanCounters.IDENTIFIED, 9L, ScanCounters.OK_FAST,
        done - 1, ScanCounters.FAILED, 1L);
  }

  @Test
  void refusesBadArgumentsWithTheReason() throws Exception {
    Path list = Files.writeString(dir.resolve("fleet.json"), "[{\"path\": \"a.elf\"}]");
    String out = dir.resolve("out").toString();
    assertThat(CliRun.hb("scan", "--manifest", list.toString(), "--out", out, "--tools", "ps,top").err())
        .contains("unknown tool 'top'");
    assertThat(CliRun.hb("scan", "--out", out).err()).contains("--manifest=M | --snapshots=GLOB");
    assertThat(CliRun.hb("scan", "--manifest", list.toString(), "--snapshots", "*.elf", "--out", out).exit()).isEqualTo(2);
    CliRun noReferences = CliRun.hb("scan", "--manifest", list.toString(), "--out", out, "--tools", "none",
        "--references", dir.toString());
    assertThat(noReferences.exit()).isEqualTo(ScanCommand.USAGE);
    assertThat(noReferences.err()).contains("no trusted references in " + dir);
    assertThat(CliRun.hb("scan", "--snapshots", dir + "/nothing/*.elf", "--out", out, "--tools", "none").err())
        .contains("no snapshot file matches");
    Path aFile = Files.writeString(dir.resolve("a-file"), "");
    CliRun outIsAFile = CliRun.hb("scan", "--manifest", list.toString(), "--out", aFile.resolve("out").toString(),
        "--tools", "none");
    assertThat(outIsAFile.exit()).isEqualTo(ScanCommand.USAGE);
    assertThat(outIsAFile.err()).contains("--out " + aFile.resolve("out") + ": cannot create it");
    assertThat(CliRun.hb("scan", "--manifest", list.toString(), "--out", out, "--tools", "ps",
        "--metadata", aFile.toString()).err()).contains("--metadata " + aFile + ": cannot create it");
  }

  @Test
  void aResumedScanRecognisesTheClusterJobsOfItsOutputAndDate() {
    java.time.LocalDate day = java.time.LocalDate.of(2025, 9, 1);
    String prefix = ScanResumption.jobPrefix(dir.resolve("out"), day);
    assertThat(prefix).matches("hb-scan-[0-9a-f]{8}-")
        .isEqualTo(ScanResumption.jobPrefix(dir.resolve("x/../out"), day))
        .isNotEqualTo(ScanResumption.jobPrefix(dir.resolve("other"), day))
        .isNotEqualTo(ScanResumption.jobPrefix(dir.resolve("out"), day.plusDays(1)));
    FlinkRest.Job done = job(prefix + "1", "FINISHED");
    FlinkRest.Job failed = job(prefix + "2", "FAILED");
    FlinkRest.Job otherScan = job("hb-scan-00000000-3", "RUNNING");
    FlinkRest.Job restarting = job(prefix + "4-2", "RESTARTING");
    assertThat(ScanResumption.stillRunning(List.of(done, failed, otherScan), prefix)).isEmpty();
    assertThat(ScanResumption.stillRunning(List.of(done, otherScan, restarting), prefix)).contains(restarting);
  }

  private static FlinkRest.Job job(String name, String state) {
    return new FlinkRest.Job("id-" + name, name, state, 0, 0, 1);
  }

  @Test
  void aFailedJobIsReportedByWhatItsCauseSaysOnce() {
    Exception full = new java.io.IOException("No space left on device");
    // Beam's wrapper of Direct's failure: its message, and its cause's, is the cause's toString().
    Exception direct = new org.apache.beam.sdk.Pipeline.PipelineExecutionException(
        new java.util.concurrent.ExecutionException(full));
    assertThat(SmokeTestCommand.rootCause(direct)).isEqualTo("java.io.IOException: No space left on device");
    assertThat(SmokeTestCommand.rootCause(new IllegalStateException("writing the status table",
        new java.util.concurrent.ExecutionException(full)))).isEqualTo(
            "writing the status table\n  caused by: java.io.IOException: No space left on device");
    assertThat(SmokeTestCommand.rootCause(full)).isEqualTo("java.io.IOException: No space left on device");
    assertThat(SmokeTestCommand.rootCause(new IllegalStateException("store: cannot write: No space left on device",
        full))).isEqualTo("store: cannot write: No space left on device");
  }

  @Test
  @Tag("dataset")
  void identifiesASnapshotListOnDirectAndPrintsQueriesThatWork() throws Exception {
    Path out = dir.resolve("out");
    // What a job of the date that failed before its commit left (a full disk, say): any scan of the date removes it,
    // not only --resume. Another date's run stays.
    Path failedJob = Files.createDirectories(out.resolve("_temporary/2025-08-01.failed-job/status"));
    Path otherDate = Files.createDirectories(out.resolve("_temporary/2025-08-02.writing/status"));
    CliRun run = CliRun.hb("scan", "--manifest", snapshotList().toString(), "--out", out.toString(), "--tools", "none",
        "--scan-date", "2025-08-01");
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.err()).contains("removed what a job that stopped before its commit had written "
        + "(2025-08-01.failed-job)");
    assertThat(failedJob.getParent()).doesNotExist();
    assertThat(otherDate).isDirectory();
    assertThat(run.out()).contains("scan DONE").contains("identified 2/3, 1 failed")
        .contains(out.resolve("scan_date=2025-08-01/snapshots").toString())
        .contains(out.resolve("scan_date=2025-08-01/status").toString());
    List<String> queries = queries(run.out());
    // The last column is the failed row's mean wall time: a missing file fails in a millisecond or two, not zero.
    assertThat(sql(queries.get(0))).hasSize(1).first().satisfies(failed -> {
      assertThat(failed.subList(0, 5)).containsExactly("2025-08-01", null, null, "FAILED", "1");
      assertThat(Double.parseDouble(failed.get(5))).isBetween(0.0, 1000.0);
    });
    assertThat(sql(queries.get(1))).hasSize(1).first().satisfies(failed -> assertThat(failed.subList(0, 5))
        .containsExactly("2025-08-01", "lost-1", null, null, "UNREADABLE"));
  }

  @Test
  @Tag("dataset")
  void inspectsASnapshotListTrainingWhatTheStoreLacks() throws Exception {
    Path out = dir.resolve("out");
    Path store = dir.resolve("metadata");
    CliRun run = CliRun.hb("scan", "--manifest", snapshotList().toString(), "--out", out.toString(),
        "--tools", "system,lsmod", "--scan-date", "2025-08-02", "--metadata", store.toString());
    assertThat(run.exit()).as(run.err()).isZero();
    // One snapshot per build: each is its build's training sample, then runs fast on what it taught.
    assertThat(run.out()).contains("inspected 4/4 (fast 4, slow 0, failed 0) | trained 4 | fallbacks 0")
        .contains("metadata store " + store + ": read version 0, wrote version 1")
        .contains(out.resolve("scan_date=2025-08-02/metadata").toString())
        .contains(out.resolve("scan_date=2025-08-02/system").toString())
        .contains(out.resolve("scan_date=2025-08-02/modules").toString());
    List<List<String>> byTool = sql(queries(run.out()).get(0));
    assertThat(byTool).extracting(row -> String.join(" ", row.subList(1, 5))).containsExactly(
        "6.1.0-53-amd64 lsmod OK_FAST 1", "6.1.0-53-amd64 system OK_FAST 1",
        "6.12.95+deb12-amd64 lsmod OK_FAST 1", "6.12.95+deb12-amd64 system OK_FAST 1", "null null FAILED 1");
    assertThat(store.resolve("v000001")).isDirectory();
    assertThat(sql(queries(run.out()).get(2))).extracting(row -> String.join(" ", row.subList(0, 3))).contains(
        "6.1.0-53-amd64 lsmod 1", "6.1.0-53-amd64 system 1", "6.12.95+deb12-amd64 lsmod 1",
        "6.12.95+deb12-amd64 system 1").allSatisfy(row -> assertThat(row).endsWith(" 1"));
    assertThat(sql("SELECT snapshot_id, vm_id, release FROM read_parquet('" + out + "/*/system/*.parquet')"
        + " ORDER BY 1")).containsExactly(List.of("db-1", "vm-db-1", "6.12.95+deb12-amd64"),
        List.of("web-1", "vm-web-1", "6.1.0-53-amd64"));
  }

  @Test
  @Tag("dataset")
  void aScanInBatchesResumedAfterItsFirstPartHasTheRowsOfOneJob() throws Exception {
    Path dataset = ReferenceStore.defaultDatasetDirectory();
    List<String> entries = new ArrayList<>();
    String[][] listed = {{"web-1", "6.1.0-53-amd64/boot1/dump2.kdump"}, {"db-1", "6.12.95+deb12-amd64/boot1/dump1.elf"},
        {"db-1-clone", "6.12.95+deb12-amd64/boot1/dump1.elf"}, {"c-1", "6.1.0-53-cloud-amd64/boot2/dump1.elf"},
        {"lost-1", "lost.elf"}, {"web-2", "6.1.0-53-amd64/boot2/dump1.elf"},
        {"c-2", "6.1.0-53-cloud-amd64/boot1/dump2.kdump"}};
    for (String[] entry : listed) {
      String path = entry[1].equals("lost.elf") ? entry[1] : dataset.resolve(entry[1]).toString();
      entries.add("{\"path\": \"" + path + "\", \"id\": \"" + entry[0] + "\", \"vmId\": \"vm-" + entry[0] + "\"}");
    }
    Path all = Files.writeString(dir.resolve("all.json"), "[" + String.join(",", entries) + "]");
    Path firstPart = Files.writeString(dir.resolve("first.json"), "[" + String.join(",", entries.subList(0, 3)) + "]");
    Path out = dir.resolve("out");
    String[] tools = {"--tools", "system,lsmod"};

    CliRun oneJob = CliRun.hb(args(all, out, "2025-09-01", dir.resolve("store-1"), tools));
    assertThat(oneJob.exit()).as(oneJob.err()).isZero();

    // The same list in jobs of two entries, as a scan that stopped after its first three entries and was resumed.
    Path store = dir.resolve("store-2");
    CliRun part = CliRun.hb(args(firstPart, out, "2025-09-02", store, tools, "--batch-size", "2"));
    assertThat(part.exit()).as(part.err()).isZero();
    assertThat(part.err()).contains("in 2 jobs of at most 2 entries").contains("batch 2/2: 2 entries, 1 file(s)");
    // What a job killed before its commit leaves (part files, no commit plan): the resumed scan removes it. A job
    // of another date may be writing now: it stays.
    Files.createDirectories(out.resolve("_temporary/2025-09-02.killed-job/status"));
    Path otherDate = Files.createDirectories(out.resolve("_temporary/2025-09-03.writing/status"));
    // While another scan of the date runs (its lock held), the resumed scan is refused before it does anything.
    try (OutputLock held = OutputLock.acquire(out, LocalDate.parse("2025-09-02"))) {
      CliRun refused = CliRun.hb(args(all, out, "2025-09-02", store, tools, "--resume"));
      assertThat(refused.exit()).isEqualTo(ScanCommand.USAGE);
      assertThat(refused.err()).contains("another hb scan is writing the tables of 2025-09-02 in " + out)
          .contains("process " + ProcessHandle.current().pid() + " on ");
      assertThat(out.resolve("_temporary/2025-09-02.killed-job")).isDirectory();
    }
    CliRun resumed = CliRun.hb(args(all, out, "2025-09-02", store, tools, "--batch-size", "2", "--resume"));
    assertThat(resumed.exit()).as(resumed.err()).isZero();
    assertThat(resumed.err()).contains("3 of the 7 entries listed are committed, 4 left").contains("batch 2/2")
        .contains("removed what a job that stopped before its commit had written (2025-09-02.killed-job)");
    assertThat(out.resolve("_temporary/2025-09-02.killed-job")).doesNotExist();
    assertThat(otherDate).isDirectory();
    assertThat(resumed.out()).contains("identified 3/4, 1 failed");
    // Each job commits what it learnt, and the next starts from it: the first trains the build the part did not see.
    assertThat(resumed.err()).contains("batch 1/2: 2 entries, 2 file(s), metadata store version 2")
        .contains("batch 2/2: 2 entries, 2 file(s), metadata store version 3");

    for (String table : List.of("system", "modules")) {
      String rows = "SELECT * EXCLUDE (scan_date) FROM read_parquet('" + out + "/*/" + table + "/*.parquet', "
          + "hive_partitioning = true) WHERE scan_date = DATE '%s' ORDER BY ALL";
      List<List<String>> expected = sql(rows.formatted("2025-09-01"));
      assertThat(expected).as(table).isNotEmpty();
      assertThat(sql(rows.formatted("2025-09-02"))).as(table).isEqualTo(expected);
    }
    String status = "SELECT snapshot_id, vm_id, tool, outcome = 'FAILED' FROM read_parquet('" + out
        + "/*/status/*.parquet', hive_partitioning = true) WHERE scan_date = DATE '%s' ORDER BY ALL";
    assertThat(sql(status.formatted("2025-09-02"))).hasSize(13).isEqualTo(sql(status.formatted("2025-09-01")));
    // The metadata table: the newest entries of every build scanned that day, once each.
    String metadata = "SELECT kernel_build, tool, count(*), count(DISTINCT (pc_offset, operand)), max(store_version)"
        + " FROM read_parquet('" + out + "/*/metadata/*.parquet', hive_partitioning = true)"
        + " WHERE scan_date = DATE '2025-09-02' GROUP BY ALL ORDER BY ALL";
    assertThat(sql(metadata)).extracting(row -> row.subList(0, 2)).containsExactly(
        List.of("6.1.0-53-amd64", "lsmod"), List.of("6.1.0-53-amd64", "system"),
        List.of("6.1.0-53-cloud-amd64", "lsmod"), List.of("6.1.0-53-cloud-amd64", "system"),
        List.of("6.12.95+deb12-amd64", "lsmod"), List.of("6.12.95+deb12-amd64", "system"));
    assertThat(sql(metadata)).allSatisfy(row -> assertThat(row.get(2)).isEqualTo(row.get(3)));

    CliRun again = CliRun.hb(args(all, out, "2025-09-02", store, tools, "--resume"));
    assertThat(again.exit()).isZero();
    assertThat(again.out()).contains("nothing left to scan");
    CliRun otherTools = CliRun.hb(args(all, out, "2025-09-02", store, new String[] {"--tools", "ps"}, "--resume"));
    assertThat(otherTools.exit()).isEqualTo(ScanCommand.USAGE);
    assertThat(otherTools.err()).contains("were written with --tools lsmod,system");
  }

  @Test
  @Tag("dataset")
  void aJobThatCannotStartStopsTheScanWithWhatToDoAndResumeGoesOn() throws Exception {
    Path dataset = ReferenceStore.defaultDatasetDirectory();
    Path list = Files.writeString(dir.resolve("three.json"), """
        [
          {"path": "%s", "id": "web-1"},
          {"path": "%s", "id": "db-1"},
          {"path": "%s", "id": "c-1"}
        ]""".formatted(dataset.resolve("6.1.0-53-amd64/boot1/dump2.kdump"),
        dataset.resolve("6.12.95+deb12-amd64/boot1/dump1.elf"), dataset.resolve("6.1.0-53-cloud-amd64/boot2/dump1.elf")));
    Path out = dir.resolve("out");
    Path store = dir.resolve("store");
    String[] tools = {"--tools", "system"};
    // Once the first job has committed its tables (status last), the store becomes a file: the second job cannot
    // start.
    Path firstStatus = io.hybridbridge.pipeline.ParquetTables.tableDir(out, LocalDate.parse("2025-09-03"), "status");
    java.util.concurrent.CompletableFuture<Void> breakStore = java.util.concurrent.CompletableFuture.runAsync(() -> {
      try {
        while (!Files.isDirectory(firstStatus)) {
          Thread.sleep(1);
        }
        io.hybridbridge.datasets.FileTrees.deleteRecursively(store);
        Files.writeString(store, "not a store");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    CliRun stopped = CliRun.hb(args(list, out, "2025-09-03", store, tools, "--batch-size", "1"));
    breakStore.get(10, java.util.concurrent.TimeUnit.SECONDS);
    assertThat(stopped.exit()).as(stopped.err()).isEqualTo(1);
    assertThat(stopped.err()).contains("hb scan: batch 2/3: cannot start: ")
        .contains("batch 2/3: could not start; the tables of 2025-09-03 hold every entry committed before it: run "
            + "the same command with --resume to scan the 2 entries left");
    String ids = "SELECT snapshot_id FROM read_parquet('" + out + "/*/status/*.parquet') ORDER BY 1";
    assertThat(sql(ids)).containsExactly(List.of("web-1"));

    Files.delete(store);
    CliRun resumed = CliRun.hb(args(list, out, "2025-09-03", store, tools, "--batch-size", "1", "--resume"));
    assertThat(resumed.exit()).as(resumed.err()).isZero();
    assertThat(resumed.err()).contains("1 of the 3 entries listed are committed, 2 left");
    assertThat(sql(ids)).containsExactly(List.of("c-1"), List.of("db-1"), List.of("web-1"));
  }

  private static String[] args(Path list, Path out, String date, Path store, String[] tools, String... more) {
    List<String> args = new ArrayList<>(List.of("scan", "--manifest", list.toString(), "--out", out.toString(),
        "--scan-date", date, "--metadata", store.toString()));
    args.addAll(List.of(tools));
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  /** Two snapshots of the default dataset (two builds) and a file that does not exist. */
  private Path snapshotList() throws Exception {
    Path dataset = ReferenceStore.defaultDatasetDirectory();
    assertThat(dataset.resolve("manifest.json")).as("the default dataset").isRegularFile();
    return Files.writeString(dir.resolve("fleet.json"), """
        [
          {"path": "%s", "id": "web-1", "vmId": "vm-web-1"},
          {"path": "%s", "id": "db-1", "vmId": "vm-db-1", "labels": {"team": "db"}},
          {"path": "lost.elf", "id": "lost-1"}
        ]""".formatted(dataset.resolve("6.1.0-53-amd64/boot1/dump2.kdump"),
        dataset.resolve("6.12.95+deb12-amd64/boot1/dump1.elf")));
  }

  /** The statements of the DuckDB commands a scan printed. */
  static List<String> queries(String output) {
    List<String> statements = new ArrayList<>();
    Matcher command = Pattern.compile("duckdb -c \"(.*)\"").matcher(output);
    while (command.find()) {
      statements.addAll(List.of(command.group(1).split("; ")));
    }
    assertThat(statements).as("DuckDB queries in %s", output).isNotEmpty();
    return statements;
  }

  static List<List<String>> sql(String query) throws Exception {
    List<List<String>> rows = new ArrayList<>();
    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement statement = duck.createStatement(); ResultSet result = statement.executeQuery(query)) {
      while (result.next()) {
        List<String> row = new ArrayList<>();
        for (int i = 1; i <= result.getMetaData().getColumnCount(); i++) {
          row.add(result.getString(i));
        }
        rows.add(row);
      }
    }
    return rows;
  }
}
