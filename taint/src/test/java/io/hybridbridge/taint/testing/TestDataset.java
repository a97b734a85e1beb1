package io.hybridbridge.taint.testing;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.datasets.Manifests;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotRole;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The default dataset (system property {@code hb.dataset}, env {@code HB_DATASET}, or the cache): a test that
 * needs it fails, never skips, when it is missing.
 */
public final class TestDataset {
  private TestDataset() {}

  public static Path directory() {
    Path dir = ReferenceStore.defaultDatasetDirectory();
    assertThat(dir.resolve(Manifests.FILE_NAME)).as("the default dataset (./hb datasets build)").exists();
    return dir;
  }

  public static ReferenceStore references() throws Exception {
    ReferenceStore store = ReferenceStore.open(directory());
    assertThat(store.references()).as("references of the default dataset").isNotEmpty();
    return store;
  }

  public static ReferenceStore.Reference reference(String build) throws Exception {
    return references().references().stream().filter(r -> r.kernelBuild().equals(build)).findFirst()
        .orElseThrow(() -> new AssertionError("no reference for " + build));
  }

  /** Fleet snapshots with a ground truth, in manifest order. */
  public static List<ManifestEntry> snapshots() throws Exception {
    List<ManifestEntry> all = Manifests.read(directory()).getEntries().stream()
        .filter(e -> e.getRole() == SnapshotRole.SNAPSHOT && e.getGroundTruthPath() != null).toList();
    assertThat(all).as("fleet snapshots of the default dataset").isNotEmpty();
    return all;
  }

  public static Path path(ManifestEntry e) {
    return directory().resolve(e.getPath());
  }

  public static Path truth(ManifestEntry e) {
    Path dir = directory().resolve(e.getGroundTruthPath());
    assertThat(Files.isDirectory(dir)).as("ground truth of %s", e.getId()).isTrue();
    return dir;
  }
}
