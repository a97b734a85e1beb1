package io.hybridbridge.runners.flink;

import io.hybridbridge.datasets.FileTrees;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** Local clusters for the tests: on free loopback ports, so that they never meet `hb flink start`'s. */
public final class TestClusters {
  private TestClusters() {}

  /** {@code taskManagers} TaskManagers of 1 slot and {@code taskManagerMemory}, a 1 GB JobManager, state in dir. */
  public static FlinkClusterSpec onFreePorts(Path stateDir, int taskManagers, String taskManagerMemory) {
    return new FlinkClusterSpec(stateDir, taskManagers, 1, freePort(), freePort(), 0, 0, "1g", taskManagerMemory,
        Duration.ofMinutes(3));
  }

  public static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * A cluster a test class shares ({@code @RegisterExtension static}): started before its tests, stopped after them
   * (also when they fail), its state in a temporary directory.
   */
  public static final class Shared implements BeforeAllCallback, AfterAllCallback {
    private final int taskManagers;
    private final String taskManagerMemory;
    private FlinkClusterSpec spec;

    public Shared(int taskManagers, String taskManagerMemory) {
      this.taskManagers = taskManagers;
      this.taskManagerMemory = taskManagerMemory;
    }

    public FlinkClusterSpec spec() {
      return spec;
    }

    /** The {@code --flinkMaster} of the cluster. */
    public String master() {
      return "127.0.0.1:" + spec.restPort();
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
      spec = onFreePorts(Files.createTempDirectory("hb-test-cluster"), taskManagers, taskManagerMemory);
      LocalFlinkCluster.start(spec, message -> System.out.println("cluster: " + message));
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
      if (spec != null) {
        LocalFlinkCluster.stop(spec.stateDir());
        FileTrees.deleteRecursively(spec.stateDir());
      }
    }
  }
}
