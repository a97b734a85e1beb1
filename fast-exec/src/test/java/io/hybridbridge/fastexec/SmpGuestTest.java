package io.hybridbridge.fastexec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.Snapshots;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.taint.slowpath.SlowPath;
import io.hybridbridge.taint.slowpath.SlowPathException;
import io.hybridbridge.taint.slowpath.UntrustedSnapshot;
import io.hybridbridge.taint.testing.TestDataset;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guests with two virtual CPUs ({@code hb datasets build --smp 2}: the reference boots with two as well): the tools
 * give the guest's ground truth on the slow path, and the fast path gives the slow path's rows. A reference with one
 * CPU refuses them with the reason: its per-CPU loops would sum /proc/uptime's idle time over one CPU of two
 * (measured before the refusal: 3.2-4.6 s against the guest's 5.3-11 s).
 */
@Tag("dataset")
class SmpGuestTest {
  private static final String BUILD = "6.12.95+deb12-amd64";
  @TempDir static Path out;
  private static List<ManifestEntry> snapshots;

  @BeforeAll
  static void build() throws Exception {
    snapshots = GuestInspections.build(out, BUILD, options -> options.withGuestCpus(2));
  }

  @Test
  void everySnapshotHoldsTwoCpus() throws Exception {
    assertThat(snapshots).hasSize(2);
    for (ManifestEntry e : snapshots) {
      try (Snapshot s = Snapshots.open(out.resolve(e.getPath()))) {
        assertThat(s.cpus()).as(e.getId()).hasSize(2);
      }
    }
  }

  /**
   * Every inspection gives the guest's ground truth, and the fast path the slow path's rows. (Until the policy kept
   * {@code phys_base} local, ps failed on one 6.12 boot of about twenty with a hardened-usercopy BUG in T, whenever
   * T's buffer page lay where U's kernel text is in physical memory: taint README, the policy's context list.)
   */
  @Test
  void theToolsGiveTheGuestsGroundTruthAndTheFastPathTheSlowPathsRows() throws Exception {
    GuestInspections.run(out, snapshots).assertAllRight("2-CPU guests");
  }

  @Test
  void aReferenceWithOneCpuRefusesThemWithTheReason() throws Exception {
    ManifestEntry e = snapshots.get(0);
    try (SlowPath oneCpu = SlowPath.open(TestDataset.reference(BUILD));
        UntrustedSnapshot u = UntrustedSnapshot.open(out.resolve(e.getPath()), e.getId(), e.getVmId())) {
      assertThat(oneCpu.bridge().trustedUnits().count()).isEqualTo(1);
      assertThatThrownBy(() -> oneCpu.inspect(u, Tools.PS)).isInstanceOf(SlowPathException.class)
          .hasMessageContaining("snapshot " + e.getId() + " has 2 possible CPUs")
          .hasMessageContaining("needs a reference of its build booted with 2 CPUs");
    }
  }
}
