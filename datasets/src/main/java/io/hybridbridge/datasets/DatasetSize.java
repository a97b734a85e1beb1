package io.hybridbridge.datasets;

import com.fasterxml.jackson.databind.JsonNode;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotRole;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * What a dataset holds and how distinct its snapshots are: the disk it uses, the snapshots, how many distinct
 * images (sha256), and how many distinct workload states their ground truth shows (processes with their command
 * lines, modules, inet sockets; boot id and uptime left out, so two boots reaching the same state count once).
 */
public record DatasetSize(long bytes, int snapshots, int distinctImages, int distinctWorkloads, int withoutTruth) {

  public static DatasetSize of(Path dataset) throws DatasetException {
    long bytes;
    try (Stream<Path> walk = Files.walk(dataset)) {
      bytes = walk.filter(Files::isRegularFile).mapToLong(DatasetSize::sizeOf).sum();
    } catch (IOException | java.io.UncheckedIOException e) {
      throw new DatasetException("cannot measure " + dataset + ": " + e.getMessage(), e);
    }
    List<ManifestEntry> snapshots = Manifests.read(dataset).getEntries().stream()
        .filter(e -> e.getRole() == SnapshotRole.SNAPSHOT).toList();
    Set<String> images = new HashSet<>();
    Set<String> workloads = new HashSet<>();
    int withoutTruth = 0;
    for (ManifestEntry e : snapshots) {
      images.add(e.getSha256());
      Path truth = e.getGroundTruthPath() == null ? null
          : dataset.resolve(e.getGroundTruthPath()).resolve("truth.json");
      if (truth == null || !Files.isRegularFile(truth)) {
        withoutTruth++;
        continue;
      }
      workloads.add(workloadState(truth));
    }
    return new DatasetSize(bytes, snapshots.size(), images.size(), workloads.size(), withoutTruth);
  }

  private static long sizeOf(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static String workloadState(Path truthJson) throws DatasetException {
    try {
      JsonNode truth = DatasetBuilder.JSON.readTree(truthJson.toFile()).path("truth");
      StringBuilder state = new StringBuilder();
      for (JsonNode p : truth.path("processes")) {
        state.append(p.path("pid").asText()).append(' ').append(p.path("cmdline")).append(';');
      }
      for (JsonNode m : truth.path("modules")) {
        state.append(m.path("name").asText()).append(';');
      }
      for (JsonNode s : truth.path("inetSockets")) {
        state.append(s.path("proto").asText()).append(s.path("localPort").asText()).append(s.path("state"))
            .append(';');
      }
      return state.toString();
    } catch (IOException e) {
      throw new DatasetException("cannot read the ground truth " + truthJson + ": " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return String.format("%.2f GB on disk, %d snapshots: %d distinct images (sha256), %d distinct workload states "
        + "(processes, modules, sockets), %d without ground truth", bytes / 1e9, snapshots, distinctImages,
        distinctWorkloads, withoutTruth);
  }
}
