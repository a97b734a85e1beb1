package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.RedirectDecision;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.Metadata;
import io.hybridbridge.taint.testing.TestDataset;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The slow path's report per tool and build (issue 5): on every fleet snapshot of the default dataset, each tool's
 * instructions, redirected instructions (distinct instruction/operand pairs redirected at least once), memory
 * accesses and the share redirected, metadata entries (one run, and merged over the build's snapshots, with the
 * mixed ones and the mixed ones that even the call-site context does not separate) and wall time (median of {@code runs} after one warm-up per build). {@code taint/run-report [runs]}.
 */
public final class SlowPathReport {
  private SlowPathReport() {}

  public static void main(String[] args) throws Exception {
    int runs = args.length > 0 ? Integer.parseInt(args[0]) : 3;
    Map<String, List<ManifestEntry>> byBuild = new LinkedHashMap<>();
    for (ManifestEntry e : TestDataset.snapshots()) {
      byBuild.computeIfAbsent(e.getKernelBuild(), b -> new ArrayList<>()).add(e);
    }
    System.out.printf("%-22s %-8s %5s %12s %10s %12s %8s %9s %9s %6s %6s %9s%n", "build", "tool", "snaps",
        "instructions", "redir.ins", "accesses", "redir%", "entries", "merged", "mixed", "ambig", "median_s");
    for (var build : byBuild.entrySet()) {
      try (SlowPath slow = SlowPath.open(TestDataset.reference(build.getKey()))) {
        for (InspectionTool tool : Tools.ALL) {
          List<Double> seconds = new ArrayList<>();
          long instructions = 0;
          long redirected = 0;
          long accesses = 0;
          long redirectedAccesses = 0;
          long entries = 0;
          TrainingMetadata merged = null;
          for (ManifestEntry e : build.getValue()) {
            try (UntrustedSnapshot u = UntrustedSnapshot.open(TestDataset.path(e), e.getId(), e.getVmId())) {
              slow.inspect(u, tool); // warm-up: decode cache, JIT
              for (int i = 0; i < runs; i++) {
                SlowPath.Inspection run = slow.inspect(u, tool);
                seconds.add(run.wallTime().toNanos() / 1e9);
                if (i == 0) {
                  instructions += run.instructions();
                  redirected += run.redirectedInstructions();
                  accesses += run.log().accesses();
                  redirectedAccesses += run.log().redirectedAccesses();
                  entries += run.log().entries().size();
                  merged = merged == null ? run.metadata() : Metadata.merge(merged, run.metadata());
                }
              }
            }
          }
          int n = build.getValue().size();
          seconds.sort(null);
          long mixed = merged.getEntries().stream().filter(x -> x.getDecision() == RedirectDecision.MIXED).count();
          long ambiguous = merged.getEntries().stream().filter(x -> x.getContexts().stream()
              .anyMatch(c -> c.getDecision() == RedirectDecision.MIXED)).count();
          System.out.printf("%-22s %-8s %5d %12d %10d %12d %7.1f%% %9d %9d %6d %6d %9.3f%n", build.getKey(),
              tool.name(), n, instructions / n, redirected / n, accesses / n, 100.0 * redirectedAccesses / accesses,
              entries / n, merged.getEntries().size(), mixed, ambiguous, seconds.get(seconds.size() / 2));
        }
      }
    }
    System.out.println("(per-snapshot means; merged = metadata entries after merging all the build's snapshots; "
        + "ambig = mixed entries with a context seen both ways)");
  }
}
