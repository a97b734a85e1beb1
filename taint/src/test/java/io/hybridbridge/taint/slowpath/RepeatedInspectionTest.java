package io.hybridbridge.taint.slowpath;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.taint.testing.TestDataset;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Inspections after the first start from the machine's checkpoint of T's preparation and reuse the snapshot's view
 * of U: they run exactly as the first one, which prepared T from the pristine reference on a fresh view: same rows,
 * instructions, system calls and decisions, whatever ran between (another tool writing to T and to U).
 */
@Tag("dataset")
class RepeatedInspectionTest {
  @Test
  void anInspectionFromTheCheckpointIsTheFirstInspectionAgain() throws Exception {
    ManifestEntry e = TestDataset.snapshots().get(0);
    try (SlowPath slow = SlowPath.open(TestDataset.reference(e.getKernelBuild()));
        UntrustedSnapshot u = UntrustedSnapshot.open(TestDataset.path(e), e.getId(), e.getVmId())) {
      for (List<InspectionTool> order : List.of(List.of(Tools.NETSTAT, Tools.LSMOD), List.of(Tools.LSMOD,
          Tools.NETSTAT))) {
        SlowPath.Inspection first = slow.inspect(u, order.get(0));
        SlowPath.Inspection between = slow.inspect(u, order.get(1));
        SlowPath.Inspection again = slow.inspect(u, order.get(0));
        assertThat(between.rows()).isNotEmpty();
        assertThat(again.rows()).isEqualTo(first.rows()).isNotEmpty();
        assertThat(again.instructions()).isEqualTo(first.instructions());
        assertThat(again.syscalls()).isEqualTo(first.syscalls());
        assertThat(again.metadata().getEntries()).isEqualTo(first.metadata().getEntries());
      }
    }
    try (SlowPath fresh = SlowPath.open(TestDataset.reference(e.getKernelBuild()));
        UntrustedSnapshot u = UntrustedSnapshot.open(TestDataset.path(e), e.getId(), e.getVmId());
        SlowPath restored = SlowPath.open(TestDataset.reference(e.getKernelBuild()));
        UntrustedSnapshot v = UntrustedSnapshot.open(TestDataset.path(e), e.getId(), e.getVmId())) {
      restored.inspect(v, Tools.MOUNT);
      SlowPath.Inspection fromPristine = fresh.inspect(u, Tools.LSMOD); // T prepared now, U's view new
      SlowPath.Inspection fromCheckpoint = restored.inspect(v, Tools.LSMOD);
      assertThat(fromCheckpoint.rows()).isEqualTo(fromPristine.rows());
      assertThat(fromCheckpoint.instructions()).isEqualTo(fromPristine.instructions());
      assertThat(fromCheckpoint.metadata().getEntries()).isEqualTo(fromPristine.metadata().getEntries());
    }
  }
}
