package io.hybridbridge.runners.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.runners.RunnerOptions;
import io.hybridbridge.runners.Runners;
import io.hybridbridge.runners.ShadedJar;
import io.hybridbridge.runners.SmokeJob;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.LocalDate;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real Flink 1.19 cluster on loopback (1 JobManager, 2 TaskManagers, separate JVMs) runs the smoke job from the
 * shaded jar; its REST API must show the job FINISHED and its Parquet rows must equal a Direct runner's.
 * Needs the shaded jar, so it runs in {@code mvn verify} (after the shade in pre-integration-test).
 */
@Tag("cluster")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FlinkClusterIT {
  private static final LocalDate DAY = LocalDate.of(2025, 6, 1);
  private static final int PROCESSES = 5000;

  @TempDir static Path work;
  private static FlinkClusterSpec spec;
  private static LocalFlinkCluster.Started started;

  @BeforeAll
  static void startCluster() throws Exception {
    spec = TestClusters.onFreePorts(work.resolve("flink"), 2, "1536m");
    started = LocalFlinkCluster.start(spec, message -> System.out.println("cluster: " + message));
    System.out.printf("FIGURE cluster start (1 JobManager, 2 TaskManagers, until /overview shows both): %.1f s%n",
        started.took().toMillis() / 1e3);
  }

  @AfterAll
  static void stopCluster() throws Exception {
    if (spec != null) {
      LocalFlinkCluster.stop(spec.stateDir());
    }
  }

  @Test
  @Order(1)
  void theClusterIsUpWithSeparateProcessesForEachRole() throws Exception {
    assertThat(started.alreadyRunning()).isFalse();
    LocalFlinkCluster.Status status = LocalFlinkCluster.status(spec.stateDir()).orElseThrow();
    assertThat(status.overview().taskManagers()).isEqualTo(2);
    assertThat(status.overview().slotsTotal()).isEqualTo(2);
    assertThat(status.overview().flinkVersion()).isEqualTo("1.19.0");
    assertThat(status.processes()).extracting(FlinkProcess::role)
        .containsExactly("jobmanager", "taskmanager-1", "taskmanager-2");
    assertThat(status.processes()).extracting(FlinkProcess::pid).doesNotHaveDuplicates()
        .doesNotContain(ProcessHandle.current().pid());
    assertThat(spec.stateDir().resolve("conf/config.yaml")).content().contains("rest.port: " + spec.restPort());
    assertThat(spec.stateDir().resolve("log/taskmanager-2.log")).content().contains("Successful registration");
  }

  @Test
  @Order(2)
  void startingAgainReportsTheRunningClusterAndABusyPortIsAClearError() throws Exception {
    LocalFlinkCluster.Started again = LocalFlinkCluster.start(spec, message -> {});
    assertThat(again.alreadyRunning()).isTrue();
    assertThat(again.status().processes()).isEqualTo(LocalFlinkCluster.status(spec.stateDir()).orElseThrow()
        .processes());

    FlinkClusterSpec clash = new FlinkClusterSpec(work.resolve("other"), 1, 1, spec.restPort(),
        TestClusters.freePort(), 0, 0, "1g", "1g", Duration.ofMinutes(1));
    assertThatThrownBy(() -> LocalFlinkCluster.start(clash, message -> {}))
        .isInstanceOf(FlinkClusterException.class)
        .hasMessageContaining("port " + spec.restPort())
        .hasMessageContaining("already in use")
        .hasMessageContaining("--rest-port");
  }

  @Test
  @Order(3)
  void theSmokeJobRunsOnTheClusterFromTheShadedJarAndMatchesTheDirectRunner() throws Exception {
    Optional<Path> jar = ShadedJar.existing();
    assertThat(jar).as("an up-to-date %s: run this test through `mvn verify`, which shades in "
        + "pre-integration-test", ShadedJar.RELATIVE_PATH).isPresent();
    System.out.printf("FIGURE shaded jar: %d MB%n", Files.size(jar.get()) >> 20);

    String jobName = "hb-cluster-it-" + UUID.randomUUID();
    RunnerOptions flink = Runners.options("--runner=FlinkRunner",
        "--flinkMaster=127.0.0.1:" + spec.restPort(), "--parallelism=2", "--jobName=" + jobName);
    Pipeline onCluster = Runners.pipeline(flink, message -> System.out.println("runner: " + message));
    assertThat(flink.getFilesToStage()).containsExactly(jar.get().toString());
    Path flinkOut = work.resolve("out-flink");
    SmokeJob.expand(onCluster, PROCESSES, flinkOut.toString(), DAY);
    long submitted = System.nanoTime();
    assertThat(onCluster.run().waitUntilFinish()).isEqualTo(PipelineResult.State.DONE);
    System.out.printf("FIGURE Flink cluster job, submit to finish (233 MB jar upload included): %.1f s%n",
        (System.nanoTime() - submitted) / 1e9);

    List<FlinkRest.Job> jobs = LocalFlinkCluster.status(spec.stateDir()).orElseThrow().jobs();
    assertThat(jobs).filteredOn(job -> job.name().equals(jobName)).singleElement()
        .satisfies(job -> {
          assertThat(job.state()).isEqualTo("FINISHED");
          assertThat(job.tasks()).isPositive();
          System.out.printf("FIGURE Flink job on the cluster: %s, %d tasks, %.1f s by the JobManager's clock%n",
              job.state(), job.tasks(), job.durationMillis() / 1e3);
        });

    RunnerOptions direct = Runners.options("--parallelism=2");
    Pipeline onDirect = Runners.pipeline(direct, message -> {});
    Path directOut = work.resolve("out-direct");
    SmokeJob.expand(onDirect, PROCESSES, directOut.toString(), DAY);
    long directStart = System.nanoTime();
    assertThat(onDirect.run().waitUntilFinish()).isEqualTo(PipelineResult.State.DONE);
    System.out.printf("FIGURE Direct runner, same job: %.1f s%n", (System.nanoTime() - directStart) / 1e9);

    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement sql = duck.createStatement()) {
      for (String table : List.of("processes", "modules")) {
        String onFlink = tableOf(flinkOut, table);
        String onDirectRunner = tableOf(directOut, table);
        long rows = count(sql, "SELECT count(*) FROM " + onFlink);
        assertThat(rows).as("%s rows", table).isEqualTo(table.equals("processes") ? PROCESSES : PROCESSES / 50);
        assertThat(count(sql, "SELECT count(*) FROM " + onDirectRunner)).isEqualTo(rows);
        assertThat(count(sql, "SELECT count(*) FROM (SELECT * FROM " + onFlink + " EXCEPT ALL SELECT * FROM "
            + onDirectRunner + ")")).as("%s rows only the Flink run wrote", table).isZero();
        assertThat(count(sql, "SELECT count(*) FROM (SELECT * FROM " + onDirectRunner + " EXCEPT ALL SELECT * FROM "
            + onFlink + ")")).as("%s rows only the Direct run wrote", table).isZero();
      }
      // The shuffle really grouped: every use edge landed in exactly one module's list.
      assertThat(count(sql, "SELECT sum(len(used_by)) FROM " + tableOf(flinkOut, "modules")))
          .isPositive().isLessThanOrEqualTo(PROCESSES);
    }
  }

  @Test
  @Order(4)
  void stopEndsEveryProcessAndASecondStopSaysItWasNotRunning() throws Exception {
    List<FlinkProcess> processes = LocalFlinkCluster.status(spec.stateDir()).orElseThrow().processes();
    LocalFlinkCluster.Stopped stopped = LocalFlinkCluster.stop(spec.stateDir());
    System.out.printf("FIGURE cluster stop: %.1f s%n", stopped.took().toMillis() / 1e3);
    assertThat(stopped.ended()).containsExactlyInAnyOrderElementsOf(processes);
    assertThat(stopped.killed()).isEmpty();
    assertThat(processes).allSatisfy(p -> assertThat(ProcessHandle.of(p.pid()).map(ProcessHandle::isAlive))
        .isNotEqualTo(Optional.of(true)));
    assertThat(spec.stateDir().resolve("cluster.json")).doesNotExist();
    assertThat(LocalFlinkCluster.status(spec.stateDir())).isEmpty();
    assertThat(LocalFlinkCluster.stop(spec.stateDir()).wasRunning()).isFalse();
  }

  private static String tableOf(Path out, String table) {
    return "read_parquet('" + out + "/scan_date=" + DAY + "/" + table + "/*.parquet', hive_partitioning = false)";
  }

  private static long count(Statement sql, String query) throws SQLException {
    try (ResultSet rows = sql.executeQuery(query)) {
      assertThat(rows.next()).isTrue();
      return rows.getLong(1);
    }
  }
}
