package io.hybridbridge.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.ScanTarget;
import io.hybridbridge.schemas.SnapshotRole;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The three ways to list a scan's snapshots, and the clear errors for lists that cannot be used. */
class ScanTargetsTest {
  @TempDir Path dir;

  @Test
  void aUserListResolvesRelativePathsAgainstItsDirectoryAndDefaultsIdsToThePath() throws Exception {
    Path list = write("fleet/night.json", """
        [
          {"path": "vm1/mem.elf", "vmId": "vm-1", "labels": {"team": "db", "region": "eu"}},
          {"path": "/abs/vm2.kdump", "id": "vm-2 at 02:00"},
          {"path": "gs://bucket/vm3.elf", "vmId": null, "labels": null}
        ]""");
    List<ScanTarget> targets = ScanTargets.fromManifest(list);
    assertThat(targets).extracting(ScanTarget::getId, ScanTarget::getPath, ScanTarget::getVmId).containsExactly(
        tuple("vm1/mem.elf", dir.resolve("fleet/vm1/mem.elf").toString(), "vm-1"),
        tuple("vm-2 at 02:00", "/abs/vm2.kdump", null),
        tuple("gs://bucket/vm3.elf", "gs://bucket/vm3.elf", null));
    assertThat(targets.get(0).getLabels()).containsExactly(Map.entry("team", "db"), Map.entry("region", "eu"));
    assertThat(targets.get(2).getLabels()).isEmpty();
  }

  @Test
  void anAvroListIsReadLikeTheJsonOne() throws Exception {
    Path list = dir.resolve("fleet.avro");
    try (DataFileWriter<ScanTarget> out = new DataFileWriter<>(new SpecificDatumWriter<>(ScanTarget.class))) {
      out.create(ScanTarget.getClassSchema(), list.toFile());
      out.append(ScanTarget.newBuilder().setId("a").setPath("snaps/a.elf").setVmId("vm-a").build());
      out.append(ScanTarget.newBuilder().setId("b").setPath("file:///data/b.elf").build());
    }
    assertThat(ScanTargets.fromManifest(list)).extracting(ScanTarget::getId, ScanTarget::getPath)
        .containsExactly(tuple("a", dir.resolve("snaps/a.elf").toString()), tuple("b", "/data/b.elf"));
  }

  @Test
  void badListsAreRefusedWithTheReason() throws Exception {
    assertThatThrownBy(() -> ScanTargets.fromManifest(write("a.json", "[{\"path\": \"x\", \"vm_id\": \"v\"}]")))
        .isInstanceOf(ScanInputException.class).hasMessageContaining("unknown key \"vm_id\"");
    assertThatThrownBy(() -> ScanTargets.fromManifest(write("b.json", "[{\"id\": \"x\"}]")))
        .hasMessageContaining("item 0: no \"path\"");
    assertThatThrownBy(() -> ScanTargets.fromManifest(write("c.json", "[{\"path\": \"x\"}, {\"path\": \"x\"}]")))
        .hasMessageContaining("snapshot id \"x\" is listed twice");
    assertThatThrownBy(() -> ScanTargets.fromManifest(write("d.json", "[{\"path\": 7}]")))
        .hasMessageContaining("\"path\" must be a string");
    assertThatThrownBy(() -> ScanTargets.fromManifest(write("e.json", "[{\"path\": \"x\", \"labels\": [1]}]")))
        .hasMessageContaining("\"labels\" must be an object of strings");
    assertThatThrownBy(() -> ScanTargets.fromManifest(write("f.json", "[]"))).hasMessageContaining("lists no snapshot");
    assertThatThrownBy(() -> ScanTargets.fromManifest(write("g.json", "[{\"path\": ")))
        .hasMessageContaining("malformed JSON");
    assertThatThrownBy(() -> ScanTargets.fromManifest(write("h.json", "{\"entries\": []}")))
        .hasMessageContaining("is a dataset manifest; give its dataset directory");
    assertThatThrownBy(() -> ScanTargets.fromManifest(write("i.json", "{\"snapshots\": []}")))
        .hasMessageContaining("neither a dataset manifest");
    assertThatThrownBy(() -> ScanTargets.fromManifest(write("j.avro", "not avro")))
        .hasMessageContaining("not an Avro data file of ScanTarget records");
    assertThatThrownBy(() -> ScanTargets.fromManifest(dir.resolve("nowhere")))
        .hasMessageContaining("no manifest at " + dir.resolve("nowhere"));
  }

  @Test
  void aGlobListsMatchingFilesInPathOrderWithoutCpuSidecars() throws Exception {
    write("snaps/b.raw", "x");
    write("snaps/b.raw.cpu.json", "{}");
    write("snaps/a.elf", "x");
    write("other/c.elf", "x");
    assertThat(ScanTargets.fromGlob(dir + "/snaps/*")).extracting(ScanTarget::getId)
        .containsExactly(dir.resolve("snaps/a.elf").toString(), dir.resolve("snaps/b.raw").toString());
    assertThatThrownBy(() -> ScanTargets.fromGlob(dir + "/none/*.elf"))
        .isInstanceOf(ScanInputException.class).hasMessageContaining("no snapshot file matches");
  }

  @Test
  @Tag("dataset")
  void aDatasetManifestListsItsSnapshotsNotItsReferences() throws Exception {
    Path dataset = DefaultDataset.directory();
    List<ManifestEntry> snapshots = DefaultDataset.entries(SnapshotRole.SNAPSHOT);
    List<ScanTarget> targets = ScanTargets.fromManifest(dataset);
    assertThat(ScanTargets.fromManifest(dataset.resolve("manifest.json"))).isEqualTo(targets);
    assertThat(targets).extracting(ScanTarget::getId, ScanTarget::getPath, ScanTarget::getVmId)
        .containsExactlyElementsOf(snapshots.stream().map(e -> tuple(e.getId(),
            dataset.resolve(e.getPath()).toString(), e.getVmId())).toList());
    assertThat(targets).allSatisfy(t -> assertThat(Path.of(t.getPath())).isRegularFile());
    assertThat(targets.get(0).getLabels()).containsKey("memoryMiB");
  }

  private Path write(String name, String text) throws IOException {
    Path file = dir.resolve(name);
    Files.createDirectories(file.getParent());
    return Files.writeString(file, text);
  }

  private static org.assertj.core.groups.Tuple tuple(Object... values) {
    return org.assertj.core.groups.Tuple.tuple(values);
  }
}
