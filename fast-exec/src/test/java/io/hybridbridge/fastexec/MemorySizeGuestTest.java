package io.hybridbridge.fastexec;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.snapshot.PhysicalRange;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.Snapshots;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.taint.testing.TestDataset;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fleet's VMs of one build differ in RAM as well as in CPUs, but RAM needs no reference of its own: the direct map,
 * vmemmap and the kernel's memory counters are the snapshot's, reached through its own layout and page tables. Two
 * snapshots of a 6.1 cloud guest with 512 MiB, built by the test, inspected with the default dataset's reference
 * of the build, which has 128 MiB: every tool gives the guest's ground truth and the fast path the slow path's rows.
 */
@Tag("dataset")
class MemorySizeGuestTest {
  private static final String BUILD = "6.1.0-53-cloud-amd64";

  @TempDir Path larger;

  @Test
  void aReferenceWithLessRamInspectsAGuestWithMore() throws Exception {
    List<ManifestEntry> snapshots = GuestInspections.build(larger, BUILD, options -> options.withMemory(512));
    assertThat(snapshots).hasSize(2).allSatisfy(e -> assertThat(e.getLabels()).containsEntry("memoryMiB", "512"));
    ReferenceStore.Reference reference = TestDataset.reference(BUILD);
    long guestRam = ram(larger.resolve(snapshots.get(0).getPath()));
    long referenceRam = ram(reference.snapshot());
    assertThat(guestRam).as("the guest's RAM").isGreaterThan(3 * referenceRam);
    GuestInspections.run(reference, larger, snapshots).assertAllRight(String.format(
        "%d MiB guests, %d MiB reference", guestRam >> 20, referenceRam >> 20));
  }

  /** The bytes of physical memory {@code snapshot} holds. */
  private static long ram(Path snapshot) throws Exception {
    try (Snapshot s = Snapshots.open(snapshot)) {
      return s.ranges().stream().mapToLong(PhysicalRange::length).sum();
    }
  }
}
