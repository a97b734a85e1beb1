package io.hybridbridge.runners.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.datasets.DatasetException;
import io.hybridbridge.datasets.FileTrees;
import io.hybridbridge.datasets.Manifests;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotRole;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The snapshot lists a scan bench runs on, written as {@code hb scan --manifest} lists: the first N distinct
 * snapshots of a fleet (taken in turn from each kernel build, so every size has every build), or every distinct
 * snapshot listed several times under different VM ids (a fleet of clones: same file, other machine).
 */
final class FleetLists {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<ManifestEntry> interleaved;
  private final Path dataset;

  private FleetLists(Path dataset, List<ManifestEntry> interleaved) {
    this.dataset = dataset;
    this.interleaved = interleaved;
  }

  /** The snapshots of the fleet dataset {@code dataset}, build after build in turn. */
  static FleetLists of(Path dataset) throws BenchException {
    List<ManifestEntry> snapshots;
    try {
      snapshots = Manifests.read(dataset).getEntries().stream().filter(e -> e.getRole() == SnapshotRole.SNAPSHOT)
          .filter(e -> !e.getLabels().containsKey("sameMomentAs")).toList(); // a twin is not a distinct moment
    } catch (DatasetException e) {
      throw new BenchException("cannot read the fleet " + dataset + ": " + e.getMessage()
          + " (make it with `hb datasets build --fleet 200`)", e);
    }
    Map<String, List<ManifestEntry>> byBuild = new TreeMap<>();
    snapshots.forEach(e -> byBuild.computeIfAbsent(e.getKernelBuild(), b -> new ArrayList<>()).add(e));
    List<ManifestEntry> interleaved = new ArrayList<>();
    for (int i = 0; interleaved.size() < snapshots.size(); i++) {
      for (List<ManifestEntry> build : byBuild.values()) {
        if (i < build.size()) {
          interleaved.add(build.get(i));
        }
      }
    }
    return new FleetLists(dataset, interleaved);
  }

  /** The distinct snapshots' files, in list order. */
  List<Path> paths() {
    return interleaved.stream().map(e -> dataset.resolve(e.getPath()).toAbsolutePath()).toList();
  }

  int distinct() {
    return interleaved.size();
  }

  /**
   * Writes the list of {@code entries} snapshots to {@code file}: the first {@code entries} distinct ones, or, when
   * {@code entries} is a multiple of the fleet's size, every one of them {@code entries / distinct} times, copy k
   * with id {@code <id>@clone<k>} and VM id {@code <vmId>-clone<k>}.
   */
  Path write(int entries, Path file) throws BenchException {
    int copies = 1;
    int distinct = entries;
    if (entries > interleaved.size()) {
      if (entries % interleaved.size() != 0) {
        throw new BenchException("the fleet has " + interleaved.size() + " distinct snapshots: a size above that must "
            + "be a multiple of it (each snapshot listed under that many VM ids), not " + entries);
      }
      copies = entries / interleaved.size();
      distinct = interleaved.size();
    }
    List<Map<String, Object>> list = new ArrayList<>();
    for (int copy = 1; copy <= copies; copy++) {
      for (ManifestEntry e : interleaved.subList(0, distinct)) {
        Map<String, Object> target = new LinkedHashMap<>();
        target.put("path", dataset.resolve(e.getPath()).toAbsolutePath().toString());
        target.put("id", copies == 1 ? e.getId() : e.getId() + "@clone" + copy);
        target.put("vmId", copies == 1 ? e.getVmId() : e.getVmId() + "-clone" + copy);
        target.put("labels", Map.of("fleet", dataset.getFileName().toString()));
        list.add(target);
      }
    }
    try {
      FileTrees.writeAtomically(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(list));
      return file;
    } catch (IOException e) {
      throw new BenchException("cannot write the snapshot list " + file + ": " + e.getMessage(), e);
    }
  }
}
