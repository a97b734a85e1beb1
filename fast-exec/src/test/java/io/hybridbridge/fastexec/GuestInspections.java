package io.hybridbridge.fastexec;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.datasets.BuildOptions;
import io.hybridbridge.datasets.DatasetBuilder;
import io.hybridbridge.datasets.FileTrees;
import io.hybridbridge.datasets.HbCache;
import io.hybridbridge.datasets.KernelBuildName;
import io.hybridbridge.datasets.Manifests;
import io.hybridbridge.datasets.Progress;
import io.hybridbridge.datasets.SnapshotFormats;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.machine.MachineException;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotRole;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.slowpath.SlowPath;
import io.hybridbridge.taint.slowpath.SlowPathException;
import io.hybridbridge.taint.slowpath.UntrustedSnapshot;
import io.hybridbridge.taint.testing.GroundTruth;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Every tool on the snapshots of a dataset a test built for a kind of guest (two vCPUs, page-table isolation, 5-level
 * paging, more RAM), with the dataset's own reference or another: the slow path against the guest's ground truth,
 * the fast path against the slow path, trained on the same snapshot and on the first one.
 */
final class GuestInspections {
  /**
   * @param wrong rows other than the ground truth (slow path) or than the slow path's (fast path)
   * @param failed inspections that failed, with their reason
   * @param answeredFast tools of the later snapshots the fast path trained on the first snapshot answered
   * @param laterInspections the (snapshot, tool) pairs of the later snapshots
   */
  record Outcome(List<String> wrong, List<String> failed, int answeredFast, int laterInspections) {
    /** Prints a summary line and asserts: no wrong rows, no failure, and the fast path answered something. */
    void assertAllRight(String guests) {
      System.out.printf("%s: %d inspections failed %s; %d of %d inspections of the later snapshots answered by the "
          + "fast path trained on the first%n", guests, failed.size(), failed, answeredFast, laterInspections);
      assertThat(wrong).as("rows other than the ground truth or the slow path's").isEmpty();
      assertThat(failed).as("inspections that failed").isEmpty();
      assertThat(answeredFast).as("tools the fast path answered").isPositive();
    }
  }

  private GuestInspections() {}

  /** Datasets built at most, when a dump caught the guest's kernel mid-update ({@link #build}). */
  private static final int BUILDS = 3;

  /**
   * Builds a dataset of two snapshots of {@code build} (one boot, kdump) and its reference in {@code out}, with the
   * default options changed by {@code variant}; returns its snapshots.
   *
   * <p>A dump stops the guest at an arbitrary instruction, and now and then that is inside the timekeeper's update:
   * its seqcount is odd in the snapshot, and every tool then stops in the reference's kernel with "spins at
   * ktime_get_coarse_real_ts64", a clear failure (docs/PERFORMANCE.md, "Failures": 1 of 200 fleet snapshots). Or a
   * task on the other vCPU holds a lock a tool takes: on a PREEMPT_RT kernel, whose spinlocks spin while their owner
   * is on a CPU, netstat then stops with "spins at rtlock_slowlock_locked" (a CI run of session 26). That is the
   * moment of the dump, not the code under test, so a dataset with such a snapshot is built again, a new boot, up to
   * {@value #BUILDS} times; the last one is returned whatever it holds, and the test then fails on it.
   */
  static List<ManifestEntry> build(Path out, String build, UnaryOperator<BuildOptions> variant) throws Exception {
    for (int attempt = 1; ; attempt++) {
      BuildOptions options = variant.apply(BuildOptions.defaults(out, HbCache.packages(),
          List.of(new KernelBuildName(build))).withFleet(2, 2, SnapshotFormats.KDUMP));
      new DatasetBuilder(options, new Progress(System.err)).build();
      List<ManifestEntry> snapshots = Manifests.read(out).getEntries().stream()
          .filter(e -> e.getRole() == SnapshotRole.SNAPSHOT).toList();
      List<String> spinning = spinning(out, snapshots);
      if (spinning.isEmpty() || attempt == BUILDS) {
        return snapshots;
      }
      System.err.printf("%s: the reference's kernel spins on %s (the dump caught an update or a held lock): "
          + "building the dataset again (%d of %d)%n", build, spinning, attempt + 1, BUILDS);
      FileTrees.deleteRecursively(out);
      Files.createDirectories(out);
    }
  }

  /** The snapshots on which the slow path of some tool stops with the reference's kernel spinning. */
  private static List<String> spinning(Path dataset, List<ManifestEntry> snapshots) throws Exception {
    List<String> spinning = new ArrayList<>();
    try (SlowPath slow = SlowPath.open(ReferenceStore.open(dataset).references().get(0))) {
      for (ManifestEntry e : snapshots) {
        try (UntrustedSnapshot u = UntrustedSnapshot.open(dataset.resolve(e.getPath()), e.getId(), e.getVmId())) {
          for (InspectionTool tool : Tools.ALL) {
            try {
              slow.inspect(u, tool);
            } catch (SlowPathException x) {
              if (spins(x)) {
                spinning.add(e.getId() + " " + tool.name());
              }
            }
          }
        }
      }
    }
    return spinning;
  }

  private static boolean spins(Throwable x) {
    for (Throwable t = x; t != null; t = t.getCause()) {
      if (t instanceof MachineException m && m.reason() == MachineException.Reason.SPINNING) {
        return true;
      }
    }
    return false;
  }

  static Outcome run(Path dataset, List<ManifestEntry> snapshots) throws Exception {
    return run(ReferenceStore.open(dataset).references().get(0), dataset, snapshots);
  }

  /** Like {@link #run(Path, List)}, with {@code reference} (of another dataset, say) instead of the dataset's own. */
  static Outcome run(ReferenceStore.Reference reference, Path dataset, List<ManifestEntry> snapshots)
      throws Exception {
    List<String> wrong = new ArrayList<>();
    List<String> failed = new ArrayList<>();
    Map<String, TrainingMetadata> first = new HashMap<>();
    int answeredFast = 0;
    try (FastPath fast = FastPath.open(reference)) {
      for (ManifestEntry e : snapshots) {
        try (UntrustedSnapshot u = UntrustedSnapshot.open(dataset.resolve(e.getPath()), e.getId(), e.getVmId())) {
          for (InspectionTool tool : Tools.ALL) {
            String what = e.getId() + " " + tool.name();
            SlowPath.Inspection slow;
            try {
              slow = fast.slow().inspect(u, tool);
            } catch (SlowPathException x) {
              failed.add(what + ": " + x.getMessage());
              continue;
            }
            assertThat(slow.log().redirectedAccesses()).as("%s redirected", what).isPositive();
            GroundTruth.differences(tool, slow.rows(), dataset.resolve(e.getGroundTruthPath()),
                new RowContext(e.getId(), e.getVmId(), e.getKernelBuild())).forEach(d -> wrong.add(what + ": " + d));
            List<FastPath.Inspection> runs = new ArrayList<>();
            runs.add(fast.inspect(u, tool, slow.metadata())); // trained on this very snapshot
            if (e == snapshots.get(0)) {
              first.put(tool.name(), slow.metadata());
            } else if (first.containsKey(tool.name())) {
              FastPath.Inspection trainedOnFirst = fast.inspect(u, tool, first.get(tool.name()));
              answeredFast += trainedOnFirst.fellBack() ? 0 : 1;
              runs.add(trainedOnFirst);
            }
            for (FastPath.Inspection run : runs) {
              if (!run.fellBack() && !run.rows().equals(slow.rows())) {
                wrong.add(what + ": the fast path's rows differ from the slow path's");
              }
            }
          }
        }
      }
    }
    return new Outcome(wrong, failed, answeredFast, (snapshots.size() - 1) * Tools.ALL.size());
  }
}
