package io.hybridbridge.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.runners.Runners;
import io.hybridbridge.runners.ShadedJar;
import io.hybridbridge.runners.flink.FlinkRest;
import io.hybridbridge.runners.flink.TestClusters;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDate;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code hb scan} of real snapshots (two per kernel build and a missing file) submitted to a real Flink 1.19
 * cluster on loopback (1 JobManager, 2 TaskManagers, separate JVMs) from the shaded jar: the cluster's REST API
 * shows the scan FINISHED there, and every table equals the same scan's on the Direct runner (status rows apart from
 * their wall times), each starting from an empty metadata store (training, fast path, fallbacks, re-training).
 * Needs the shaded jar: runs in {@code mvn verify}.
 */
@Tag("cluster")
@Tag("dataset")
class ScanClusterIT {
  private static final String DAY = "2025-10-01";
  private static final List<String> TABLES =
      List.of("snapshots", "processes", "modules", "sockets", "system", "mounts", "fallbacks");

  @TempDir static Path work;
  @RegisterExtension static final TestClusters.Shared CLUSTER = new TestClusters.Shared(2, "3g");

  @Test
  void aScanOnTheClusterWritesTheTablesOfTheSameScanOnDirect() throws Exception {
    assertThat(ShadedJar.existing()).as("an up-to-date shaded jar (mvn verify shades before this test)").isPresent();
    Path list = snapshotList();
    Path onFlink = work.resolve("out-flink");
    Path onDirect = work.resolve("out-direct");
    Set<String> before = scanJobs();

    long start = System.nanoTime();
    CliRun flink = CliRun.hb("scan", "--manifest", list.toString(), "--out", onFlink.toString(), "--scan-date", DAY,
        "--metadata", work.resolve("store-flink").toString(),
        "--runner", "FlinkRunner", "--flinkMaster", CLUSTER.master());
    System.out.printf("FIGURE scan of 6 snapshots x 5 tools on the cluster (jar upload included): %.1f s%n",
        (System.nanoTime() - start) / 1e9);
    assertThat(flink.exit()).as(flink.err()).isZero();
    assertThat(flink.out()).contains("inspected 30/30").contains("trained 15");
    // Progress while the job ran on the cluster, from its REST API: lines marked "(running)", at least one of
    // them before the last (snapshot, tool) was done.
    List<String> running = flink.err().lines().filter(line -> line.endsWith("(running)")).toList();
    assertThat(running).as(flink.err()).isNotEmpty()
        .anySatisfy(line -> assertThat(line).doesNotContain("inspected 30/30"));
    assertThat(flink.err()).contains("running on http://" + CLUSTER.master());
    running.forEach(line -> System.out.println("FIGURE progress on the cluster: " + line));
    List<FlinkRest.Job> ran = new FlinkRest(URI.create("http://" + CLUSTER.master())).jobs()
        .stream().filter(job -> job.name().startsWith("hb-scan-") && !before.contains(job.id())).toList();
    assertThat(ran).singleElement().satisfies(job -> {
      assertThat(job.state()).isEqualTo("FINISHED");
      assertThat(job.tasks()).isPositive();
    });

    start = System.nanoTime();
    CliRun direct = CliRun.hb("scan", "--manifest", list.toString(), "--out", onDirect.toString(), "--scan-date", DAY,
        "--metadata", work.resolve("store-direct").toString());
    System.out.printf("FIGURE the same scan on Direct: %.1f s%n", (System.nanoTime() - start) / 1e9);
    assertThat(direct.exit()).as(direct.err()).isZero();

    for (String table : TABLES) {
      assertSameRows(table, onFlink, onDirect, "*");
    }
    assertSameRows("status", onFlink, onDirect, "* EXCLUDE (wall_ms)");
    // (when each unit was written differs; the order of trained_on is the order its parts were merged in)
    assertSameRows("metadata", onFlink, onDirect, "* EXCLUDE (trained_millis, trained_on), list_sort(trained_on)");
    assertThat(ScanCommandTest.sql("SELECT count(*) FROM " + table(onFlink, "metadata")).get(0).get(0))
        .isNotEqualTo("0");
    assertThat(ScanCommandTest.sql("SELECT count(*) FROM " + table(onFlink, "processes")).get(0).get(0))
        .isNotEqualTo("0");
    assertThat(ScanCommandTest.sql("SELECT snapshot_id, failure_kind FROM " + table(onFlink, "status")
        + " WHERE outcome = 'FAILED'")).containsExactly(List.of("lost", "UNREADABLE"));
  }

  @Test
  void aScanWaitsForTheCommandAndTheClusterJobOfItsOutputAndDateToEnd() throws Exception {
    Path list = snapshotList();
    Path out = work.resolve("out-resume");
    String[] scan = {"scan", "--manifest", list.toString(), "--out", out.toString(), "--scan-date", DAY,
        "--metadata", work.resolve("store-resume").toString(), "--tools", "lsmod",
        "--runner", "FlinkRunner", "--flinkMaster", CLUSTER.master()};
    CompletableFuture<CliRun> first =
        CompletableFuture.supplyAsync(() -> CliRun.hb(scan));
    LocalDate date = LocalDate.parse(DAY);
    String prefix = ScanResumption.jobPrefix(out, date);
    FlinkRest rest = new FlinkRest(URI.create("http://" + CLUSTER.master()));
    long deadline = System.nanoTime() + Duration.ofMinutes(3).toNanos();
    while (ScanResumption.stillRunning(rest.jobs(), prefix).isEmpty()) {
      assertThat(first).as("the first scan ended before its job was seen running").isNotDone();
      assertThat(System.nanoTime()).as("the first scan's job running on the cluster").isLessThan(deadline);
      Thread.sleep(200);
    }
    // Were the first command stopped, its job would run on and commit: a scan of the same output and date that went
    // on meanwhile would write the same tables, and a resumed one take the job's staging for an interrupted one.
    ScanResumption resumption = new ScanResumption(out.toAbsolutePath(), date, List.of(Tools.LSMOD));
    assertThatThrownBy(() -> resumption.requireNoJobStillRunning(Runners.options(
        "--runner=FlinkRunner", "--flinkMaster=" + CLUSTER.master())))
        .hasMessageContaining("of a scan into " + out + " for " + DAY + " is still")
        .hasMessageContaining("wait for it to end, or cancel it");
    // While the command runs, its lock refuses another scan of the date.
    String[] resume = Stream.concat(Arrays.stream(scan), Stream.of(
        "--resume")).toArray(String[]::new);
    CliRun refused = CliRun.hb(resume);
    assertThat(first).as("the first scan still running").isNotDone();
    assertThat(refused.exit()).isEqualTo(ScanCommand.USAGE);
    assertThat(refused.err()).contains("another hb scan is writing the tables of " + DAY + " in " + out);

    CliRun ran = first.get(5, TimeUnit.MINUTES);
    assertThat(ran.exit()).as(ran.err()).isZero();
    CliRun again = CliRun.hb(resume);
    assertThat(again.exit()).as(again.err()).isZero();
    assertThat(again.out()).contains("nothing left to scan");
  }

  private static void assertSameRows(String table, Path a, Path b, String columns) throws Exception {
    for (Path[] pair : new Path[][] {{a, b}, {b, a}}) {
      assertThat(ScanCommandTest.sql("SELECT count(*) FROM (SELECT " + columns + " FROM " + table(pair[0], table)
          + " EXCEPT ALL SELECT " + columns + " FROM " + table(pair[1], table) + ")"))
          .as("%s rows only in %s", table, pair[0]).containsExactly(List.of("0"));
    }
  }

  private static String table(Path out, String table) {
    return "read_parquet('" + out + "/scan_date=" + DAY + "/" + table + "/*.parquet')";
  }

  /** Two snapshots of each build of the default dataset (an ELF and a kdump) and a file that does not exist. */
  private static Path snapshotList() throws Exception {
    Path dataset = ReferenceStore.defaultDatasetDirectory();
    assertThat(dataset.resolve("manifest.json")).as("the default dataset").isRegularFile();
    StringBuilder json = new StringBuilder("[\n");
    for (String build : List.of("6.1.0-53-amd64", "6.1.0-53-cloud-amd64", "6.12.95+deb12-amd64")) {
      for (String dump : List.of("boot1/dump1.elf", "boot2/dump2.kdump")) {
        json.append(String.format("  {\"path\": \"%s\", \"id\": \"%s/%s\", \"vmId\": \"vm-%s\"},%n",
            dataset.resolve(build).resolve(dump), build, dump, build));
      }
    }
    json.append("  {\"path\": \"lost.elf\", \"id\": \"lost\"}\n]\n");
    return Files.writeString(work.resolve("fleet.json"), json);
  }

  private static Set<String> scanJobs() throws IOException {
    return new FlinkRest(URI.create("http://" + CLUSTER.master())).jobs().stream()
        .map(FlinkRest.Job::id).collect(Collectors.toSet());
  }
}
