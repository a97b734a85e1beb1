package io.hybridbridge.emulator.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.Snapshots;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which reference inspects a snapshot, on the default dataset: the one of its build and CPU count; a refusal names
 * what is missing (the build, or a reference's symbols that its CPU count needs).
 */
@Tag("dataset")
class ReferenceStoreDatasetTest {
  @TempDir Path dir;

  @Test
  void everySnapshotGetsTheReferenceOfItsBuild() throws Exception {
    ReferenceStore store = ReferenceStore.open(DefaultDataset.directory());
    int snapshots = 0;
    for (DefaultDataset.Entry e : DefaultDataset.entries()) {
      if (e.role().equals("SNAPSHOT")) {
        try (Snapshot s = Snapshots.open(e.path())) {
          assertThat(store.require(GuestKernel.locate(s)).id()).as(e.id()).isEqualTo(e.kernelBuild() + "/reference");
        }
        snapshots++;
      }
    }
    assertThat(snapshots).isPositive();
  }

  @Test
  void aReferenceWhoseCpuCountCannotBeReadIsNamedInTheRefusal() throws Exception {
    DefaultDataset.Entry snapshot = firstSnapshot();
    ReferenceStore store = ReferenceStore.open(manifest(snapshot.kernelBuild(), false));
    assertThat(store.references()).hasSize(1);
    try (Snapshot s = Snapshots.open(snapshot.path())) {
      GuestKernel kernel = GuestKernel.locate(s);
      assertThatThrownBy(() -> store.require(kernel)).isInstanceOf(ReferenceNotFoundException.class)
          .hasMessageContaining("reference " + snapshot.kernelBuild() + "/reference is of the build, but its CPU "
              + "count cannot be read").hasMessageContaining("no kallsyms");
    }
  }

  @Test
  void aBuildWithoutAReferenceIsRefusedByName() throws Exception {
    DefaultDataset.Entry snapshot = firstSnapshot();
    ReferenceStore store = ReferenceStore.open(manifest("another build", true));
    assertThat(store.references()).isEmpty();
    try (Snapshot s = Snapshots.open(snapshot.path())) {
      GuestKernel kernel = GuestKernel.locate(s);
      assertThatThrownBy(() -> store.require(kernel)).isInstanceOf(ReferenceNotFoundException.class)
          .hasMessageContaining("no reference for kernel build " + snapshot.kernelBuild());
    }
  }

  private static DefaultDataset.Entry firstSnapshot() throws Exception {
    return DefaultDataset.entries().stream().filter(e -> e.role().equals("SNAPSHOT")).findFirst().orElseThrow();
  }

  /**
   * A manifest in the temporary directory listing the default dataset's references of {@code build}, with or without
   * their kallsyms.
   */
  private Path manifest(String build, boolean withKallsyms) throws Exception {
    List<Map<String, Object>> entries = new ArrayList<>();
    for (ReferenceStore.Reference r : ReferenceStore.open(DefaultDataset.directory()).references()) {
      if (!r.kernelBuild().equals(build)) {
        continue;
      }
      Map<String, Object> entry = new LinkedHashMap<>();
      entry.put("id", r.id());
      entry.put("role", "REFERENCE");
      entry.put("path", r.snapshot().toString());
      entry.put("kernelBuild", r.kernelBuild());
      if (withKallsyms) {
        entry.put("kallsymsPath", r.kallsyms().orElseThrow().toString());
      }
      entries.add(entry);
    }
    Files.createDirectories(dir);
    new ObjectMapper().writeValue(dir.resolve("manifest.json").toFile(), Map.of("entries", entries));
    return dir;
  }
}
