package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.schemas.Manifest;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotFormat;
import io.hybridbridge.schemas.SnapshotRole;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestsTest {
  @TempDir Path dir;

  private static ManifestEntry entry(String build, String name, SnapshotRole role) {
    return ManifestEntry.newBuilder().setId(build + "/" + name).setRole(role).setPath(build + "/" + name + ".elf")
        .setFormat(SnapshotFormat.ELF).setSizeBytes(123).setSha256("ab").setKernelBuild(build)
        .setBootId("boot-" + name).setDumpTimeMillis(42).setGroundTruthPath(build + "/" + name + ".truth")
        .setKallsymsPath(role == SnapshotRole.REFERENCE ? build + "/reference/kallsyms" : null)
        .setLabels(Map.of("memoryMiB", "128")).build();
  }

  @Test
  void emptyWhenAbsentThenRoundTrips() throws DatasetException {
    assertThat(Manifests.read(dir).getEntries()).isEmpty();
    List<ManifestEntry> entries = List.of(entry("6.1.0-53-amd64", "reference", SnapshotRole.REFERENCE),
        entry("6.1.0-53-amd64", "boot1/dump1", SnapshotRole.SNAPSHOT));
    Manifest written = Manifests.replaceBuild(dir, "6.1.0-53-amd64", entries);
    Manifest read = Manifests.read(dir);
    assertThat(read).isEqualTo(written);
    assertThat(read.getEntries()).containsExactlyInAnyOrderElementsOf(entries);
  }

  @Test
  void replacingOneBuildKeepsTheOthersAndOrdersNaturally() throws DatasetException, IOException {
    Manifests.replaceBuild(dir, "a", List.of(entry("a", "boot1/dump1", SnapshotRole.SNAPSHOT)));
    Manifests.replaceBuild(dir, "b", List.of(entry("b", "boot1/dump1", SnapshotRole.SNAPSHOT)));
    Manifests.replaceBuild(dir, "a", List.of(entry("a", "boot10/dump1", SnapshotRole.SNAPSHOT),
        entry("a", "boot9/dump1", SnapshotRole.SNAPSHOT)));
    assertThat(Manifests.read(dir).getEntries()).extracting(ManifestEntry::getId)
        .containsExactly("a/boot9/dump1", "a/boot10/dump1", "b/boot1/dump1");
    try (var files = Files.list(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly(Manifests.FILE_NAME);
    }
  }

  @Test
  void unreadableManifestIsAClearError() throws IOException {
    Files.writeString(dir.resolve(Manifests.FILE_NAME), "{ not avro json");
    assertThatThrownBy(() -> Manifests.read(dir)).isInstanceOf(DatasetException.class)
        .hasMessageContaining("manifest.json");
  }
}
