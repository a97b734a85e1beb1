package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.schemas.Manifest;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotFormat;
import io.hybridbridge.schemas.SnapshotRole;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A small real fleet (`--fleet` mode: all kdump-zlib, many dumps to a boot): the cloud flavour, 4 snapshots, 2 to a
 * boot, so both the per-boot steps and a second boot are exercised.
 */
@Tag("dataset")
class FleetDatasetTest {
  private static final String BUILD = "6.1.0-53-cloud-amd64";
  @TempDir static Path out;
  private static Manifest manifest;
  private static List<ManifestEntry> snapshots;

  @BeforeAll
  static void build() throws DatasetException {
    BuildOptions options = BuildOptions.defaults(out, HbCache.packages(), List.of(new KernelBuildName(BUILD)))
        .withFleet(4, 2, SnapshotFormats.KDUMP);
    new DatasetBuilder(options, new Progress(System.err)).build();
    manifest = Manifests.read(out);
    snapshots = manifest.getEntries().stream().filter(e -> e.getRole() == SnapshotRole.SNAPSHOT).toList();
  }

  @Test
  void everySnapshotIsAKdumpWithItsOwnGroundTruthAndNoTwin() throws Exception {
    assertThat(snapshots).extracting(ManifestEntry::getId).containsExactly(BUILD + "/boot1/dump1",
        BUILD + "/boot1/dump2", BUILD + "/boot2/dump1", BUILD + "/boot2/dump2");
    for (ManifestEntry e : snapshots) {
      DatasetChecks.imageMatchesManifest(out, e, true);
      assertThat(e.getFormat()).isEqualTo(SnapshotFormat.KDUMP);
      assertThat(e.getGroundTruthPath()).isNotNull();
      assertThat(out.resolve(e.getGroundTruthPath()).resolve("truth.json")).isRegularFile();
      assertThat(DatasetChecks.truth(out, e).path("processes").size()).isGreaterThan(10);
    }
    assertThat(snapshots).extracting(ManifestEntry::getGroundTruthPath).doesNotHaveDuplicates();
  }

  @Test
  void snapshotsAreDistinctInContentAndInWorkload() throws Exception {
    DatasetSize size = DatasetSize.of(out);
    assertThat(size.snapshots()).isEqualTo(4);
    assertThat(size.distinctImages()).isEqualTo(4);
    assertThat(size.distinctWorkloads()).isEqualTo(4);
    assertThat(size.withoutTruth()).isZero();
    // dump 2 of a boot ran step 2: a listener on 1242 that dump 1 did not have
    assertThat(DatasetChecks.truth(out, snapshots.get(1)).toString()).contains("1242");
    // kdump-zlib bounds the disk: each snapshot well under half of an ELF core of the same guest
    long elf = Files.size(out.resolve(BUILD + "/reference/memory.elf"));
    assertThat(snapshots).allSatisfy(e -> assertThat(e.getSizeBytes()).isLessThan(elf / 2));
  }

  @Test
  void askingAgainIsANoOp() throws Exception {
    BuildOptions same = BuildOptions.defaults(out, HbCache.packages(), List.of(new KernelBuildName(BUILD)))
        .withFleet(4, 2, SnapshotFormats.KDUMP);
    new DatasetBuilder(same, new Progress(System.err)).build();
    assertThat(Manifests.read(out)).isEqualTo(manifest);
  }
}
