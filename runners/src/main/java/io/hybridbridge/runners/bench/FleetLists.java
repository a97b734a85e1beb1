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
public final class FleetLists {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final List<ManifestEntry> interleaved;
  private final Path dataset;

  private FleetLists(Path dataset, List<ManifestEntry> interleaved) {
    this.dataset = dataset;
    this.interleaved = interleaved;
  }

  /** A list of {@code distinct} snapshots each listed {@code copies} times, written {@code N} or {@code NxK}. */
  public record ListSize(int distinct, int copies) {
    public ListSize {
      if (distinct < 1 || copies < 1) {
        throw new IllegalArgumentException("a list size is N or NxK with N, K >= 1");
      }
    }

    public static ListSize parse(String text) {
      String[] parts = text.trim().toLowerCase().split("x");
      try {
        if (parts.length == 1) {
          return new ListSize(Integer.parseInt(parts[0]), 1);
        }
        if (parts.length == 2) {
          return new ListSize(Integer.parseInt(parts[0]), Integer.parseInt(parts[1]));
        }
      } catch (NumberFormatException e) {
        // below
      }
      throw new IllegalArgumentException("a list size is N (distinct snapshots) or NxK (each under K VM ids): "
          + text);
    }

    public int entries() {
      return distinct * copies;
    }

    @Override
    public String toString() {
      return copies == 1 ? Integer.toString(distinct) : distinct + "x" + copies;
    }
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
   * Writes to {@code file} the list of the first {@code size.distinct()} snapshots, each listed
   * {@code size.copies()} times: with more than one copy, copy k has id {@code <id>@clone<k>} and VM id
   * {@code <vmId>-clone<k>} (the same file under another machine's name).
   */
  Path write(ListSize size, Path file) throws BenchException {
    if (size.distinct() > interleaved.size()) {
      throw new BenchException("the fleet " + dataset + " has " + interleaved.size() + " distinct snapshots, not "
          + size.distinct() + "; list more copies of each instead (e.g. " + interleaved.size() + "x"
          + Math.max(2, size.entries() / interleaved.size()) + ")");
    }
    int copies = size.copies();
    int distinct = size.distinct();
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
