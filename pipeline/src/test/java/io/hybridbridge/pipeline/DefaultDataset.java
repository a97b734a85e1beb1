package io.hybridbridge.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.datasets.Manifests;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotRole;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/** The default dataset for the pipeline's dataset tests, and bad inputs made from its real snapshots. */
final class DefaultDataset {
  private DefaultDataset() {}

  /** The dataset directory; a missing dataset fails the test (never skips it). */
  static Path directory() {
    Path dir = ReferenceStore.defaultDatasetDirectory();
    assertThat(dir.resolve(Manifests.FILE_NAME)).as("the default dataset (build it with ./hb datasets build)")
        .isRegularFile();
    return dir;
  }

  static List<ManifestEntry> entries(SnapshotRole role) throws Exception {
    return Manifests.read(directory()).getEntries().stream().filter(e -> e.getRole() == role).toList();
  }

  static Path path(ManifestEntry entry) {
    return directory().resolve(entry.getPath());
  }

  /** The first snapshot entry in the given container format. */
  static ManifestEntry first(String format) throws Exception {
    return entries(SnapshotRole.SNAPSHOT).stream().filter(e -> e.getFormat().name().equals(format)).findFirst()
        .orElseThrow();
  }

  /** The first {@code bytes} of {@code source}: a snapshot cut off, as by a full disk or an interrupted copy. */
  static Path truncatedCopy(Path source, long bytes, Path to) throws IOException {
    try (RandomAccessFile in = new RandomAccessFile(source.toFile(), "r");
        RandomAccessFile out = new RandomAccessFile(to.toFile(), "rw")) {
      out.getChannel().transferFrom(in.getChannel().position(0), 0, bytes);
    }
    return to;
  }

  /**
   * A sparse copy as long as {@code source} holding only its first {@code bytes} (the rest reads as zeros and takes
   * no disk), with {@code patch} written at offset 0: headers intact or altered, memory gone.
   */
  static Path sparseCopy(Path source, long bytes, byte[] patch, Path to) throws IOException {
    truncatedCopy(source, bytes, to);
    try (RandomAccessFile out = new RandomAccessFile(to.toFile(), "rw")) {
      out.write(patch);
      out.setLength(Files.size(source));
    }
    return to;
  }

  /**
   * A reference store: a directory whose manifest.json lists the default dataset's references except those of
   * {@code withoutBuild} (absolute paths, so the snapshots stay where they are).
   */
  static Path referencesWithout(String withoutBuild, Path dir) throws Exception {
    return references(directory(), r -> !r.getKernelBuild().equals(withoutBuild), dir);
  }

  /** A reference store in {@code dir} listing the references of {@code dataset} that {@code keep} accepts. */
  static Path references(Path dataset, Predicate<ManifestEntry> keep, Path dir) throws Exception {
    List<Map<String, Object>> entries = new ArrayList<>();
    for (ManifestEntry reference : Manifests.read(dataset).getEntries()) {
      if (reference.getRole() != SnapshotRole.REFERENCE || !keep.test(reference)) {
        continue;
      }
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("id", reference.getId());
      entry.put("role", "REFERENCE");
      entry.put("path", dataset.resolve(reference.getPath()).toString());
      entry.put("kernelBuild", reference.getKernelBuild());
      entry.put("kallsymsPath", dataset.resolve(reference.getKallsymsPath()).toString());
      entries.add(entry);
    }
    Files.createDirectories(dir);
    new ObjectMapper().writeValue(dir.resolve(Manifests.FILE_NAME).toFile(), Map.of("entries", entries));
    return dir;
  }
}
