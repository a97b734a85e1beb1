package io.hybridbridge.runners;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.apache.beam.runners.direct.DirectRunner;
import org.apache.beam.runners.flink.FlinkRunner;
import org.junit.jupiter.api.Test;

class RunnersTest {
  @Test
  void directIsTheDefaultAndTakesTheParallelismOption() throws Exception {
    RunnerOptions options = Runners.options("--parallelism=3");
    assertThat(options.getRunner()).isEqualTo(DirectRunner.class);
    assertThat(Runners.isRemoteFlink(options)).isFalse();
    Runners.pipeline(options, message -> {});
    assertThat(options.getTargetParallelism()).isEqualTo(3);
  }

  @Test
  void jobsSkipTheDirectRunnersTestChecksUnlessAsked() {
    RunnerOptions job = Runners.options();
    assertThat(job.isEnforceImmutability()).isFalse();
    assertThat(job.isEnforceEncodability()).isFalse();
    RunnerOptions checked = Runners.options("--enforceImmutability=true");
    assertThat(checked.isEnforceImmutability()).isTrue();
    assertThat(checked.isEnforceEncodability()).isFalse();
  }

  @Test
  void onlyAHostAndPortMasterIsARemoteFlinkCluster() {
    assertThat(Runners.isRemoteFlink(Runners.options("--runner=FlinkRunner"))).isFalse();
    assertThat(Runners.isRemoteFlink(Runners.options("--runner=FlinkRunner", "--flinkMaster=[local]"))).isFalse();
    assertThat(Runners.isRemoteFlink(Runners.options("--runner=FlinkRunner", "--flinkMaster=[auto]"))).isFalse();
    RunnerOptions remote = Runners.options("--runner=FlinkRunner", "--flinkMaster=10.1.2.3:8081");
    assertThat(remote.getRunner()).isEqualTo(FlinkRunner.class);
    assertThat(Runners.isRemoteFlink(remote)).isTrue();
  }

  @Test
  void filesToStageGivenForARemoteClusterAreKept() throws Exception {
    RunnerOptions remote = Runners.options("--runner=FlinkRunner", "--flinkMaster=127.0.0.1:8081",
        "--filesToStage=/opt/jobs/hybrid-bridge.jar");
    Runners.pipeline(remote, message -> {});
    assertThat(remote.getFilesToStage()).isEqualTo(List.of("/opt/jobs/hybrid-bridge.jar"));
  }

  @Test
  void anUnknownRunnerIsRejectedWithItsName() {
    assertThatThrownBy(() -> Runners.options("--runner=SparkRunner"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("SparkRunner");
  }
}
