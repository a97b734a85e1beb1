package io.hybridbridge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.runners.ShadedJar;
import io.hybridbridge.runners.flink.FlinkProcess;
import io.hybridbridge.runners.flink.LocalFlinkCluster;
import io.hybridbridge.runners.flink.TestClusters;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scan jobs in a row on one Flink TaskManager do not pile up in it: each job's class loader (≈ 37 MB of metaspace)
 * can be collected after the job, but for a bounded few that the JDK keeps. Until session 16 JNA's registration of
 * the Capstone binding and its cleaner thread kept every one, and the 6th job killed the TaskManager with
 * {@code OutOfMemoryError: Metaspace}. Reads the TaskManager with {@code jcmd}. Needs the shaded jar: runs in
 * {@code mvn verify}.
 */
@Tag("cluster")
@Tag("dataset")
class JobClassLoaderIT {
  private static final int JOBS = 4;
  /**
   * Job class loaders a TaskManager may still hold after a full GC, however many jobs it ran: JDK 17's method-handle
   * cache behind records' {@code equals} ({@code ObjectMethods}) keeps the latest job's, and Avro's {@code
   * SpecificData} in a {@code ClassValue} of a class the jobs share one more: 2 after 2, 5 and 7 jobs alike (README,
   * "Submitting to an existing Flink cluster").
   */
  private static final int KEPT_AT_MOST = 2;
  /**
   * JNA's cleaner thread ends 30 s after its last registration; the JDK's process reaper threads (JNA runs ldconfig)
   * take the context class loader of the task that started them and end 60 s after their last process.
   */
  private static final Duration THREADS_END_WITHIN = Duration.ofSeconds(90);

  @TempDir static Path work;
  @RegisterExtension static final TestClusters.Shared CLUSTER = new TestClusters.Shared(1, "3g");

  @Test
  void aTaskManagerKeepsTheClassLoadersOfAtMostTwoFinishedJobs() throws Exception {
    assertThat(ShadedJar.existing()).as("an up-to-date shaded jar (mvn verify shades before this test)").isPresent();
    long taskManager = LocalFlinkCluster.status(CLUSTER.spec().stateDir()).orElseThrow().processes().stream()
        .filter(p -> p.role().startsWith("taskmanager")).mapToLong(FlinkProcess::pid).findFirst().orElseThrow();
    Path manifest = ReferenceStore.defaultDatasetDirectory().resolve("manifest.json");
    for (int job = 1; job <= JOBS; job++) {
      CliRun scan = CliRun.hb("scan", "--manifest", manifest.toString(), "--out", work.resolve("out" + job).toString(),
          "--metadata", work.resolve("store").toString(), "--tools", "system",
          "--runner", "FlinkRunner", "--flinkMaster", CLUSTER.master());
      assertThat(scan.exit()).as(scan.err()).isZero();
      System.out.printf("FIGURE after job %d: %d job class loaders, metaspace %s%n", job,
          jobClassLoaders(taskManager), metaspaceUsed(taskManager));
    }
    long deadline = System.nanoTime() + THREADS_END_WITHIN.toNanos();
    while (jcmd(taskManager, "Thread.print").lines()
        .anyMatch(line -> line.startsWith("\"JNA Cleaner\"") || line.startsWith("\"process reaper\""))) {
      assertThat(System.nanoTime()).as("JNA's cleaner and the JDK's process reaper threads ended").isLessThan(deadline);
      Thread.sleep(1000);
    }
    jcmd(taskManager, "GC.run");
    jcmd(taskManager, "GC.run");
    long kept = jobClassLoaders(taskManager);
    System.out.printf("FIGURE after %d jobs and a full GC: %d job class loaders, metaspace %s%n", JOBS, kept,
        metaspaceUsed(taskManager));
    assertThat(kept).as("job class loaders the TaskManager keeps after %d jobs", JOBS).isLessThanOrEqualTo(
        KEPT_AT_MOST);
  }

  /** Flink's user-code class loaders alive in the TaskManager: one per job whose classes are still loaded. */
  private static long jobClassLoaders(long pid) throws Exception {
    return jcmd(pid, "VM.classloader_stats").lines().filter(line -> line.endsWith("ChildFirstClassLoader")).count();
  }

  private static String metaspaceUsed(long pid) throws Exception {
    return jcmd(pid, "VM.metaspace").lines().filter(line -> line.trim().startsWith("Both:")).findFirst()
        .map(line -> line.replaceAll(".*committed,\\s+([0-9.]+ [KMG]B).*used.*", "$1")).orElse("?");
  }

  private static String jcmd(long pid, String command) throws Exception {
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(),
        Long.toString(pid), command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertThat(p.waitFor()).as("jcmd %d %s: %s", pid, command, out).isZero();
    return out;
  }
}
