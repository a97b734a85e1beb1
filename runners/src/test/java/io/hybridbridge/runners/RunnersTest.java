package io.hybridbridge.runners;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
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
  void anUnreachableMasterFailsBeforeAnythingIsBuiltOrUploaded() throws Exception {
    int closed;
    try (ServerSocket socket = new ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    RunnerOptions remote = Runners.options("--runner=FlinkRunner", "--flinkMaster=127.0.0.1:" + closed);
    assertThatThrownBy(() -> Runners.pipeline(remote, message -> {}))
        .isInstanceOf(SetupException.class)
        .hasMessageContaining("no Flink cluster answers at --flinkMaster=127.0.0.1:" + closed)
        .hasMessageContaining("hb flink start");
    assertThat(remote.getFilesToStage()).isNull();
  }

  @Test
  void aClusterOfAnotherFlinkVersionIsRefusedAndA119OneGetsTheGivenFiles() throws Exception {
    assertThatThrownBy(() -> pipelineAgainst("1.18.1", "/opt/jobs/hybrid-bridge.jar"))
        .isInstanceOf(SetupException.class)
        .hasMessageContaining("runs Flink 1.18.1").hasMessageContaining("Flink 1.19");
    assertThat(pipelineAgainst("1.19.0", "/opt/jobs/hybrid-bridge.jar").getFilesToStage())
        .isEqualTo(List.of("/opt/jobs/hybrid-bridge.jar"));
  }

  @Test
  void anUnknownRunnerIsRejectedWithItsName() {
    assertThatThrownBy(() -> Runners.options("--runner=SparkRunner"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("SparkRunner");
  }

  /** Prepares a remote-Flink pipeline against a loopback stand-in for a JobManager's REST API. */
  private static RunnerOptions pipelineAgainst(String flinkVersion, String jar) throws Exception {
    HttpServer rest = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    rest.createContext("/overview", exchange -> {
      byte[] body = ("{\"taskmanagers\":1,\"slots-total\":1,\"flink-version\":\"" + flinkVersion + "\"}")
          .getBytes(StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
      exchange.close();
    });
    rest.start();
    try {
      RunnerOptions remote = Runners.options("--runner=FlinkRunner",
          "--flinkMaster=127.0.0.1:" + rest.getAddress().getPort(), "--filesToStage=" + jar);
      Runners.pipeline(remote, message -> {});
      return remote;
    } finally {
      rest.stop(0);
    }
  }
}
