package io.hybridbridge.taint.cli;

import io.hybridbridge.datasets.DatasetException;
import io.hybridbridge.datasets.Manifests;
import io.hybridbridge.schemas.ManifestEntry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * How the command line names snapshots: by manifest id within a dataset, or by path (named after the file). Used by
 * {@code hb train} here, {@code hb inspect}, {@code hb bench paths} and {@code hb bench pair} (fast-exec).
 */
public final class SnapshotNames {
  /** A snapshot to inspect: where it is, the id and VM its rows carry. */
  public record Named(Path path, String id, String vmId) {}

  private final Path dataset;
  private final List<ManifestEntry> entries;

  private SnapshotNames(Path dataset, List<ManifestEntry> entries) {
    this.dataset = dataset;
    this.entries = entries;
  }

  public static SnapshotNames of(Path dataset) throws DatasetException {
    return new SnapshotNames(dataset, Manifests.read(dataset).getEntries());
  }

  /** {@code name} as a manifest id, or as a path (its manifest entry if it is one of the dataset's files). */
  public Named resolve(String name) {
    for (ManifestEntry e : entries) {
      if (e.getId().equals(name)) {
        return named(e);
      }
    }
    Path path = Path.of(name);
    return byPath(path).orElse(new Named(path, path.getFileName().toString(), null));
  }

  private Optional<Named> byPath(Path path) {
    for (ManifestEntry e : entries) {
      try {
        if (Files.exists(path) && Files.isSameFile(path, dataset.resolve(e.getPath()))) {
          return Optional.of(named(e));
        }
      } catch (java.io.IOException ignored) {
        // an entry whose file is gone cannot be the one given
      }
    }
    return Optional.empty();
  }

  /** The fleet snapshots of {@code build} in the manifest, in order. */
  public List<Named> snapshotsOf(String build) {
    return entries.stream().filter(e -> e.getRole() == io.hybridbridge.schemas.SnapshotRole.SNAPSHOT
        && e.getKernelBuild().equals(build)).map(this::named).toList();
  }

  private Named named(ManifestEntry e) {
    return new Named(dataset.resolve(e.getPath()), e.getId(), e.getVmId());
  }
}
