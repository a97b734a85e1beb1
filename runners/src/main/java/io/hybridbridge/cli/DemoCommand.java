package io.hybridbridge.cli;

import io.hybridbridge.datasets.DatasetException;
import io.hybridbridge.datasets.HbCache;
import io.hybridbridge.datasets.Manifests;
import io.hybridbridge.schemas.Manifest;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotRole;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code hb demo}: the main job on the embedded default. It makes the default dataset when it is missing (cached
 * afterwards), reports what it holds, and scans it with every tool on the Direct runner: progress, summary, table
 * paths and DuckDB queries.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the main job on the embedded default: make the default dataset if missing, report it, and "
        + "scan it on the Direct runner into $HB_CACHE/scans/demo.")
public final class DemoCommand implements Callable<Integer> {
  @Override
  public Integer call() throws DatasetException {
    int built = new CommandLine(new Hb()).execute("datasets", "build");
    if (built != 0) {
      return built;
    }
    Path dataset = HbCache.defaultDataset();
    Manifest manifest = Manifests.read(dataset);
    Map<String, List<ManifestEntry>> byBuild = manifest.getEntries().stream()
        .collect(Collectors.groupingBy(ManifestEntry::getKernelBuild, TreeMap::new, Collectors.toList()));
    System.out.printf("default dataset: %s%n", dataset.resolve("manifest.json"));
    System.out.printf("%-26s %10s %10s %8s %12s%n", "kernel build", "references", "snapshots", "boots", "size (MB)");
    for (var e : byBuild.entrySet()) {
      List<ManifestEntry> entries = e.getValue();
      System.out.printf("%-26s %10d %10d %8d %12.0f%n", e.getKey(),
          entries.stream().filter(x -> x.getRole() == SnapshotRole.REFERENCE).count(),
          entries.stream().filter(x -> x.getRole() == SnapshotRole.SNAPSHOT).count(),
          entries.stream().filter(x -> x.getRole() == SnapshotRole.SNAPSHOT).map(ManifestEntry::getBootId)
              .distinct().count(),
          entries.stream().mapToLong(ManifestEntry::getSizeBytes).sum() / 1e6);
    }
    ManifestEntry first = manifest.getEntries().stream().filter(x -> x.getRole() == SnapshotRole.SNAPSHOT)
        .findFirst().orElseThrow(() -> new DatasetException("the default dataset lists no snapshot"));
    System.out.printf("%nlook inside one: ./hb info %s%n", dataset.resolve(first.getPath()));
    Path out = HbCache.root().resolve("scans").resolve("demo");
    System.out.printf("%nscanning it (every tool, Direct runner) into %s%n", out);
    return new CommandLine(new Hb()).execute("scan", "--manifest", dataset.toString(), "--out", out.toString());
  }
}
