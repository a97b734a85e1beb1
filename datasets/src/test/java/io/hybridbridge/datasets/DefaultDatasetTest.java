package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.schemas.Manifest;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotFormat;
import io.hybridbridge.schemas.SnapshotRole;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The project's default dataset: three builds, both series, two flavours, everything the manifest promises. */
@Tag("dataset")
class DefaultDatasetTest {
  @Test
  void everyDefaultBuildHasAReferenceAndSnapshotsFromTwoBoots() throws Exception {
    Path dataset = DatasetLocation.requireDefaultDataset();
    Manifest manifest = Manifests.read(dataset);
    Set<SnapshotFormat> formats = new HashSet<>();
    BuildOptions defaults = BuildOptions.defaults(dataset, HbCache.packages(), List.of());
    String recipe = Recipe.of(defaults, Initramfs.staticBusybox(defaults.busybox()), BuildOptions.DEFAULT_GUEST_CPUS);
    for (KernelBuildName build : KernelBuildName.parseList(BuildOptions.DEFAULT_KERNELS)) {
      List<ManifestEntry> entries = manifest.getEntries().stream()
          .filter(e -> e.getKernelBuild().equals(build.name())).toList();
      List<ManifestEntry> references = entries.stream().filter(e -> e.getRole() == SnapshotRole.REFERENCE).toList();
      List<ManifestEntry> snapshots = entries.stream().filter(e -> e.getRole() == SnapshotRole.SNAPSHOT).toList();
      assertThat(references).as("%s references", build).hasSize(1);
      assertThat(snapshots.size()).as("%s snapshots", build).isGreaterThanOrEqualTo(3);
      assertThat(snapshots.stream().filter(e -> e.getLabels().containsKey("sameMomentAs")
          && e.getFormat() == SnapshotFormat.ELF)).as("%s ELF twin of a kdump dump", build).hasSize(1);
      assertThat(snapshots.stream().map(ManifestEntry::getBootId).distinct().count()).as("%s boots", build)
          .isGreaterThanOrEqualTo(2);
      assertThat(snapshots.stream().map(ManifestEntry::getFormat).distinct()).as("%s formats", build)
          .contains(SnapshotFormat.ELF, SnapshotFormat.KDUMP);
      DatasetChecks.referenceIsInUserModeInTheAgent(dataset, references.get(0));
      for (ManifestEntry e : entries) {
        DatasetChecks.imageMatchesManifest(dataset, e, false);
        assertThat(e.getLabels().get("recipe")).as("%s made by today's recipe", e.getId()).isEqualTo(recipe);
        assertThat(DatasetChecks.truth(dataset, e).path("uname").path("release").asText())
            .isEqualTo(e.getLabels().get("kernelRelease"));
        formats.add(e.getFormat());
        if (e.getFormat() == SnapshotFormat.ELF) {
          DatasetChecks.layoutMatchesTheDump(dataset, e);
        }
      }
    }
    assertThat(formats).contains(SnapshotFormat.ELF, SnapshotFormat.KDUMP);
  }
}
