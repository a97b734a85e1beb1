package io.hybridbridge.runners.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
