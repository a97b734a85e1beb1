package io.hybridbridge.taint.slowpath;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.taint.testing.GroundTruth;
import io.hybridbridge.taint.testing.TestDataset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The slow path on every fleet snapshot of the default dataset (three builds, two boots each: other KASLR slides and
 * region bases than the reference's) and every tool: the rows equal what the guest printed before the dump.
 */
@Tag("dataset")
class GroundTruthTest {
  @Test
  void everyToolOnEverySnapshotEqualsTheGuestsGroundTruth() throws Exception {
    Map<String, List<ManifestEntry>> byBuild = new LinkedHashMap<>();
    for (ManifestEntry e : TestDataset.snapshots()) {
      byBuild.computeIfAbsent(e.getKernelBuild(), b -> new ArrayList<>()).add(e);
    }
    List<String> failures = new ArrayList<>();
    int inspections = 0;
    for (var build : byBuild.entrySet()) {
      try (SlowPath slow = SlowPath.open(TestDataset.reference(build.getKey()))) {
        for (ManifestEntry e : build.getValue()) {
          try (UntrustedSnapshot u = UntrustedSnapshot.open(TestDataset.path(e), e.getId(), e.getVmId())) {
            for (InspectionTool tool : Tools.ALL) {
              String what = e.getId() + " " + tool.name();
              try {
                SlowPath.Inspection run = slow.inspect(u, tool);
                RowContext context = new RowContext(e.getId(), e.getVmId(), e.getKernelBuild());
                GroundTruth.differences(tool, run.rows(), TestDataset.truth(e), context)
                    .forEach(d -> failures.add(what + ": " + d));
                assertThat(run.log().redirectedAccesses()).as(what).isPositive();
              } catch (SlowPathException x) {
                failures.add(what + ": " + x.getMessage());
              }
              inspections++;
            }
          }
        }
      }
    }
    assertThat(inspections).isEqualTo(TestDataset.snapshots().size() * Tools.ALL.size());
    assertThat(failures).isEmpty();
  }
}
