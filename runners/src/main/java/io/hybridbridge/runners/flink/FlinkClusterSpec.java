package io.hybridbridge.runners.flink;

import java.nio.file.Path;
import java.time.Duration;

/**
 * How to run the local standalone cluster: where its state lives, its shape, its ports on 127.0.0.1 and memory.
 *
 * @param stateDir configuration, logs, PID file and temporary files of the cluster
 * @param taskManagers number of TaskManager processes
 * @param slotsPerTaskManager task slots of each TaskManager
 * @param restPort REST API and dashboard ({@code rest.port}); job submission goes here
 * @param rpcPort JobManager RPC ({@code jobmanager.rpc.port})
 * @param blobPort JobManager blob server ({@code blob.server.port}), 0 for any free port
 * @param taskManagerPortBase RPC port of the first TaskManager, the others follow; 0 for any free ports
 * @param jobManagerMemory {@code jobmanager.memory.process.size}, e.g. {@code 1g}
 * @param taskManagerMemory {@code taskmanager.memory.process.size} of each TaskManager, e.g. {@code 2g}
 * @param startTimeout how long {@code start} waits for every TaskManager to register
 */
public record FlinkClusterSpec(
    Path stateDir,
    int taskManagers,
    int slotsPerTaskManager,
    int restPort,
    int rpcPort,
    int blobPort,
    int taskManagerPortBase,
    String jobManagerMemory,
    String taskManagerMemory,
    Duration startTimeout) {

  public FlinkClusterSpec {
    stateDir = stateDir.toAbsolutePath().normalize();
    requireRange("taskmanagers", taskManagers, 1, 64);
    requireRange("slots", slotsPerTaskManager, 1, 256);
    requireRange("rest port", restPort, 1, 65535);
    requireRange("rpc port", rpcPort, 1, 65535);
    requireRange("blob port", blobPort, 0, 65535);
    requireRange("taskmanager port base", taskManagerPortBase, 0, 65535 - taskManagers + 1);
    requireMemory("jobmanager memory", jobManagerMemory);
    requireMemory("taskmanager memory", taskManagerMemory);
    if (startTimeout.isNegative() || startTimeout.isZero()) {
      throw new IllegalArgumentException("start timeout must be positive: " + startTimeout);
    }
  }

  /** 2 TaskManagers of 1 slot each (the machine's 2 cores), Flink's usual ports, 1 GB JobManager, 2 GB TaskManagers. */
  public static FlinkClusterSpec defaults(Path stateDir) {
    return new FlinkClusterSpec(stateDir, 2, 1, 8081, 6123, 6124, 6125, "1g", "2g", Duration.ofMinutes(2));
  }

  public int totalSlots() {
    return taskManagers * slotsPerTaskManager;
  }

  /** The RPC port of TaskManager {@code index} (0-based), 0 meaning any free port. */
  int taskManagerPort(int index) {
    return taskManagerPortBase == 0 ? 0 : taskManagerPortBase + index;
  }

  private static void requireRange(String what, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(what + " must be in " + min + ".." + max + ": " + value);
    }
  }

  private static void requireMemory(String what, String size) {
    if (size == null || !size.matches("\\d+(?i)(b|k|kb|m|mb|g|gb)")) {
      throw new IllegalArgumentException(what + " must be a size such as 1536m or 2g: " + size);
    }
  }
}
