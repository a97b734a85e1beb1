package io.hybridbridge.runners.flink;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Optional;

/**
 * The PID file of a local cluster ({@code <state>/cluster.json}): its REST address and the processes started for
 * it. A process counts as the cluster's only while it is alive and its command line names the cluster's
 * configuration directory, so a PID reused by an unrelated process is never signalled.
 *
 * @param restUrl the REST endpoint, e.g. {@code http://127.0.0.1:8081}
 * @param configDir the {@code --configDir} every process of the cluster was started with
 * @param processes the JobManager first, then the TaskManagers
 */
record ClusterState(String restUrl, String configDir, List<FlinkProcess> processes) {
  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final String FILE = "cluster.json";

  static Optional<ClusterState> read(Path stateDir) throws FlinkClusterException {
    Path file = stateDir.resolve(FILE);
    if (!Files.exists(file)) {
      return Optional.empty();
    }
    try {
      return Optional.of(JSON.readValue(file.toFile(), ClusterState.class));
    } catch (IOException e) {
      throw new FlinkClusterException("unreadable PID file " + file + " (" + e.getMessage()
          + "); stop any Flink processes started from " + stateDir + " by hand and delete it", e);
    }
  }

  void write(Path stateDir) throws IOException {
    Path temp = Files.createTempFile(stateDir, FILE, ".tmp");
    JSON.writeValue(temp.toFile(), this);
    Files.move(temp, stateDir.resolve(FILE), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  static void delete(Path stateDir) throws IOException {
    Files.deleteIfExists(stateDir.resolve(FILE));
  }

  FlinkRest rest() {
    return new FlinkRest(URI.create(restUrl));
  }

  /** The process of {@code daemon} if it is still the one this cluster started. */
  Optional<ProcessHandle> live(FlinkProcess daemon) {
    return ProcessHandle.of(daemon.pid())
        .filter(ProcessHandle::isAlive)
        .filter(p -> p.info().commandLine().map(line -> line.contains(configDir)).orElse(false));
  }

  List<FlinkProcess> liveProcesses() {
    return processes.stream().filter(d -> live(d).isPresent()).toList();
  }
}
