package io.hybridbridge.runners.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PID-file rules of the local cluster, on processes that are not Flink: no cluster is started here. */
class LocalFlinkClusterTest {
  @TempDir Path state;

  @Test
  void aPidFileOfExitedProcessesIsStaleAndStopOnlyRemovesIt() throws Exception {
    Process exited = new ProcessBuilder("true").start();
    exited.waitFor();
    pidFile(exited.pid());

    assertThat(LocalFlinkCluster.status(state)).isEmpty();
    LocalFlinkCluster.Stopped stopped = LocalFlinkCluster.stop(state);
    assertThat(stopped.wasRunning()).isFalse();
    assertThat(stopped.removedStalePidFile()).isTrue();
    assertThat(state.resolve("cluster.json")).doesNotExist();
  }

  @Test
  void aReusedPidOfAnUnrelatedProcessIsNeverSignalled() throws Exception {
    Process unrelated = new ProcessBuilder("sleep", "60").start();
    try {
      pidFile(unrelated.pid());
      assertThat(LocalFlinkCluster.status(state)).isEmpty();
      assertThat(LocalFlinkCluster.stop(state).wasRunning()).isFalse();
      assertThat(unrelated.isAlive()).isTrue();
    } finally {
      unrelated.destroyForcibly();
    }
  }

  @Test
  void aStartingChildIsAliveWhateverItsCommandLineSaysAndOneThatEndsFailsTheStart() throws Exception {
    // A JVM that has not exec'd yet can show an empty command line; `sleep` never names the configuration at all
    Process starting = new ProcessBuilder("sleep", "60").start();
    Map<FlinkProcess, ProcessHandle> children = new LinkedHashMap<>();
    children.put(new FlinkProcess("jobmanager", starting.pid(), "jobmanager.log"), starting.toHandle());
    FlinkRest nothingListens = new FlinkRest(URI.create("http://127.0.0.1:1"));
    FlinkClusterSpec spec = FlinkClusterSpec.defaults(state);
    try {
      assertThatThrownBy(() -> LocalFlinkCluster.awaitReady(nothingListens, children, spec, 0, inMillis(1200)))
          .isInstanceOf(FlinkClusterException.class).hasMessageContaining("did not come up");

      Process ended = new ProcessBuilder("true").start();
      ended.waitFor();
      children.put(new FlinkProcess("taskmanager-1", ended.pid(), "taskmanager-1.log"), ended.toHandle());
      assertThatThrownBy(() -> LocalFlinkCluster.awaitReady(nothingListens, children, spec, 1, inMillis(1200)))
          .isInstanceOf(FlinkClusterException.class)
          .hasMessage("taskmanager-1 (pid " + ended.pid() + ") exited while the cluster was starting");
    } finally {
      starting.destroyForcibly();
    }
  }

  private static long inMillis(long millis) {
    return System.nanoTime() + Duration.ofMillis(millis).toNanos();
  }

  @Test
  void anUnreadablePidFileIsAClearError() throws Exception {
    Files.writeString(state.resolve("cluster.json"), "{ not json");
    assertThatThrownBy(() -> LocalFlinkCluster.status(state)).isInstanceOf(FlinkClusterException.class)
        .hasMessageContaining("unreadable PID file").hasMessageContaining("cluster.json");
  }

  @Test
  void specsOutsideTheirRangesAreRejectedWithTheOptionName() {
    FlinkClusterSpec defaults = FlinkClusterSpec.defaults(state);
    assertThat(defaults.totalSlots()).isEqualTo(2);
    assertThat(defaults.taskManagerPort(1)).isEqualTo(6126);
    assertThatThrownBy(() -> new FlinkClusterSpec(state, 0, 1, 8081, 6123, 6124, 6125, "1g", "2g",
        Duration.ofSeconds(5))).hasMessageContaining("taskmanagers");
    assertThatThrownBy(() -> new FlinkClusterSpec(state, 1, 1, 70000, 6123, 6124, 6125, "1g", "2g",
        Duration.ofSeconds(5))).hasMessageContaining("rest port");
    assertThatThrownBy(() -> new FlinkClusterSpec(state, 1, 1, 8081, 6123, 6124, 6125, "lots", "2g",
        Duration.ofSeconds(5))).hasMessageContaining("jobmanager memory");
  }

  private void pidFile(long pid) throws Exception {
    List<FlinkProcess> processes = new ArrayList<>(List.of(
        new FlinkProcess("jobmanager", pid, state.resolve("log/jobmanager.log").toString())));
    new ClusterState("http://127.0.0.1:1", state.resolve("conf").toString(), processes).write(state);
  }
}
