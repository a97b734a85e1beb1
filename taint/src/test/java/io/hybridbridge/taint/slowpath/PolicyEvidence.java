package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.taint.policy.RedirectPolicy;
import io.hybridbridge.taint.policy.RedirectPolicy.ContextVariable;
import io.hybridbridge.taint.testing.GroundTruth;
import io.hybridbridge.taint.testing.TestDataset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The evidence behind each entry of {@link RedirectPolicy#CONTEXT}: with that one entry removed (redirected like any
 * other source), every tool runs on one fleet snapshot of each build and the outcome is compared with the ground
 * truth. Prints, per entry and build, "needed: <first failure>" or "not exercised". {@code taint/run-evidence}.
 */
public final class PolicyEvidence {
  private PolicyEvidence() {}

  public static void main(String[] args) throws Exception {
    Map<String, ManifestEntry> oneSnapshotPerBuild = new LinkedHashMap<>();
    for (ManifestEntry e : TestDataset.snapshots()) {
      oneSnapshotPerBuild.putIfAbsent(e.getKernelBuild(), e);
    }
    for (ContextVariable removed : RedirectPolicy.CONTEXT) {
      List<ContextVariable> without = new ArrayList<>(RedirectPolicy.CONTEXT);
      without.remove(removed);
      for (ManifestEntry e : oneSnapshotPerBuild.values()) {
        String outcome = "not exercised";
        try (SlowPath slow = SlowPath.open(TestDataset.reference(e.getKernelBuild()), without);
            UntrustedSnapshot u = UntrustedSnapshot.open(TestDataset.path(e), e.getId(), e.getVmId())) {
          slow.machine().setRunBudget(50_000_000);
          if (!present(slow, removed)) {
            outcome = "absent from this build";
          } else {
            for (InspectionTool tool : Tools.ALL) {
              String failure = run(slow, u, tool, e);
              if (failure != null) {
                outcome = "needed: " + tool.name() + ": " + failure;
                break;
              }
            }
          }
        } catch (SlowPathException x) {
          outcome = "needed: " + x.getMessage();
        }
        System.out.printf("%-26s %-22s %s%n", removed.symbol(), e.getKernelBuild(),
            outcome.length() > 230 ? outcome.substring(0, 230) + "…" : outcome.replace('\n', ' '));
      }
    }
  }

  private static boolean present(SlowPath slow, ContextVariable v) {
    return slow.machine().profile().address(v.symbol()).isPresent();
  }

  private static String run(SlowPath slow, UntrustedSnapshot u, InspectionTool tool, ManifestEntry e) throws Exception {
    try {
      SlowPath.Inspection run = slow.inspect(u, tool);
      List<String> diffs = GroundTruth.differences(tool, run.rows(), TestDataset.truth(e),
          new RowContext(e.getId(), e.getVmId(), e.getKernelBuild()));
      return diffs.isEmpty() ? null : "wrong rows: " + diffs.get(0);
    } catch (SlowPathException x) {
      return x.getMessage();
    }
  }
}
