package io.hybridbridge.fastexec;

import static io.hybridbridge.emulator.snapshot.CpuState.CR3_PTI_USER;
import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.datasets.BuildOptions;
import io.hybridbridge.datasets.DatasetBuilder;
import io.hybridbridge.datasets.HbCache;
import io.hybridbridge.datasets.KernelBuildName;
import io.hybridbridge.datasets.Manifests;
import io.hybridbridge.datasets.Progress;
import io.hybridbridge.datasets.SnapshotFormats;
import io.hybridbridge.emulator.kernel.KernelLayout;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.snapshot.CpuState;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.Snapshots;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotRole;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guests with page-table isolation (PTI, the kernel's Meltdown mitigation: on for Intel CPUs that do not declare
 * themselves immune; here QEMU's default model with Intel's vendor string, {@code hb datasets build --cpu
 * qemu64,-cx16,vendor=GenuineIntel}). A CPU caught in user mode then has the user half of a pair of PGDs in CR3,
 * which maps no kernel image: the reference's agent is such a CPU. Until the kernel machine translated through the
 * kernel half, opening such a reference failed ("kernel tables unreadable").
 */
@Tag("dataset")
class PtiGuestTest {
  private static final String BUILD = "6.1.0-53-amd64";
  @TempDir static Path out;
  private static List<ManifestEntry> snapshots;

  @BeforeAll
  static void build() throws Exception {
    BuildOptions options = BuildOptions.defaults(out, HbCache.packages(), List.of(new KernelBuildName(BUILD)))
        .withFleet(2, 2, SnapshotFormats.KDUMP).withCpu(BuildOptions.DEFAULT_CPU + ",vendor=GenuineIntel");
    new DatasetBuilder(options, new Progress(System.err)).build();
    snapshots = Manifests.read(out).getEntries().stream().filter(e -> e.getRole() == SnapshotRole.SNAPSHOT)
        .toList();
  }

  @Test
  void theReferencesCpuRunsOnTheUserHalfOfAnIsolatedPair() throws Exception {
    try (Snapshot reference = Snapshots.open(ReferenceStore.open(out).references().get(0).snapshot())) {
      CpuState cpu = reference.cpus().get(0);
      assertThat(cpu.userMode()).isTrue();
      assertThat(cpu.pageTableRoot() & CR3_PTI_USER).as("CR3 names the user half").isNotZero();
      assertThat(KernelLayout.find(reference).pageTableRoot()).as("the kernel half")
          .isEqualTo(cpu.pageTableRoot() & ~CR3_PTI_USER);
    }
  }

  @Test
  void theToolsGiveTheGuestsGroundTruthAndTheFastPathTheSlowPathsRows() throws Exception {
    assertThat(snapshots).hasSize(2);
    GuestInspections.run(out, snapshots).assertAllRight("PTI guests");
  }
}
