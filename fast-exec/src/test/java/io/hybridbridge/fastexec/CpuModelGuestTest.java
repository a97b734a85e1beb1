package io.hybridbridge.fastexec;

import static io.hybridbridge.emulator.snapshot.CpuState.CR3_PTI_USER;
import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.datasets.BuildOptions;
import io.hybridbridge.emulator.kernel.KernelLayout;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.snapshot.CpuState;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.Snapshots;
import io.hybridbridge.schemas.ManifestEntry;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guests on CPU models that change how the kernel maps memory, each a dataset of two snapshots built by the test:
 * <ul>
 *   <li><b>page-table isolation</b> (PTI, the Meltdown mitigation Debian's kernels turn on for an Intel CPU that does
 *       not declare itself immune: {@code hb datasets build --cpu qemu64,-cx16,vendor=GenuineIntel}). A CPU caught
 *       in user mode has the user half of a pair of PGDs in CR3, which maps no kernel image; the reference's agent is
 *       such a CPU. Until the kernel machine translated through the kernel half, opening such a reference failed
 *       ("kernel tables unreadable").
 *   <li><b>5-level paging</b> (LA57, used when the CPU has it: {@code --cpu qemu64,-cx16,+la57}): one more level in
 *       every walk and the 57-bit layout of the kernel's regions.
 * </ul>
 * On both, every tool gives the guest's ground truth and the fast path the slow path's rows.
 */
@Tag("dataset")
class CpuModelGuestTest {
  @TempDir static Path isolated;
  @TempDir static Path fiveLevel;
  private static List<ManifestEntry> isolatedSnapshots;
  private static List<ManifestEntry> fiveLevelSnapshots;

  @BeforeAll
  static void build() throws Exception {
    isolatedSnapshots = GuestInspections.build(isolated, "6.1.0-53-amd64",
        options -> options.withCpu(BuildOptions.DEFAULT_CPU + ",vendor=GenuineIntel"));
    fiveLevelSnapshots = GuestInspections.build(fiveLevel, "6.1.0-53-cloud-amd64",
        options -> options.withCpu(BuildOptions.DEFAULT_CPU + ",+la57"));
  }

  @Test
  void underIsolationTheReferencesCpuRunsOnTheUserHalfOfItsPgdPair() throws Exception {
    try (Snapshot reference = Snapshots.open(ReferenceStore.open(isolated).references().get(0).snapshot())) {
      CpuState cpu = reference.cpus().get(0);
      assertThat(cpu.userMode()).isTrue();
      assertThat(cpu.pageTableRoot() & CR3_PTI_USER).as("CR3 names the user half").isNotZero();
      assertThat(KernelLayout.find(reference).pageTableRoot()).as("the kernel half")
          .isEqualTo(cpu.pageTableRoot() & ~CR3_PTI_USER);
    }
  }

  @Test
  void underIsolationTheToolsGiveTheGroundTruthAndTheFastPathTheSlowPathsRows() throws Exception {
    assertThat(isolatedSnapshots).hasSize(2);
    GuestInspections.run(isolated, isolatedSnapshots).assertAllRight("PTI guests");
  }

  @Test
  void fiveLevelGuestsPageWithFiveLevels() throws Exception {
    try (Snapshot reference = Snapshots.open(ReferenceStore.open(fiveLevel).references().get(0).snapshot())) {
      assertThat(reference.cpus().get(0).pagingLevels()).isEqualTo(5);
    }
    for (ManifestEntry e : fiveLevelSnapshots) {
      try (Snapshot s = Snapshots.open(fiveLevel.resolve(e.getPath()))) {
        assertThat(KernelLayout.find(s).pagingLevels()).as(e.getId()).isEqualTo(5);
      }
    }
  }

  @Test
  void withFiveLevelsTheToolsGiveTheGroundTruthAndTheFastPathTheSlowPathsRows() throws Exception {
    assertThat(fiveLevelSnapshots).hasSize(2);
    GuestInspections.run(fiveLevel, fiveLevelSnapshots).assertAllRight("5-level paging guests");
  }
}
