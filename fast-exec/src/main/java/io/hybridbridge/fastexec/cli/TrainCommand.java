package io.hybridbridge.fastexec.cli;

import io.hybridbridge.datasets.DatasetException;
import io.hybridbridge.emulator.kernel.KernelAnalysisException;
import io.hybridbridge.emulator.kernel.ReferenceNotFoundException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.ToolException;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.fastexec.store.MetadataStore;
import io.hybridbridge.schemas.RedirectDecision;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.cli.SnapshotNames;
import io.hybridbridge.taint.metadata.MetadataException;
import io.hybridbridge.taint.slowpath.SlowPath;
import io.hybridbridge.taint.slowpath.SlowPathException;
import io.hybridbridge.taint.slowpath.UntrustedSnapshot;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hb train --build B --tool T}: the slow path over snapshots of the build, each on the build's reference of its
 * CPU count (one training serves them all: {@code Metadata#merge}); what the runs learnt is committed to the
 * metadata store (the one {@code hb inspect} and {@code hb scan} read) as one new version, merged with what the
 * store already held.
 */
@Command(name = "train", mixinStandardHelpOptions = true,
    description = "Train the redirection metadata of a kernel build and tools: run the slow path over snapshots of the "
        + "build and commit what it learnt to the metadata store as one new version.")
public final class TrainCommand implements Callable<Integer> {
  @Option(names = "--build", required = true, paramLabel = "BUILD", description = "Kernel build, e.g. 6.1.0-53-amd64.")
  String build;

  @Option(names = "--tool", required = true, paramLabel = "TOOL",
      description = "ps, lsmod, netstat, system, mount, a comma-separated list, or all.")
  String tools;

  @Option(names = "--snapshots", split = ",", paramLabel = "SNAPSHOT",
      description = "Manifest ids or paths to train on (default: every fleet snapshot of the build in the dataset).")
  List<String> snapshots;

  @Option(names = "--references", paramLabel = "DIR",
      description = "Dataset with the build's reference (default: ${DEFAULT-VALUE}).")
  Path references = ReferenceStore.defaultDatasetDirectory();

  @Option(names = "--store", paramLabel = "DIR", description = "Metadata store to commit to (default: ${DEFAULT-VALUE}).")
  Path store = defaultMetadataDirectory().resolve("store");

  /** {@code ${HB_CACHE:-~/.cache/hybrid-bridge}/metadata}. */
  public static Path defaultMetadataDirectory() {
    String cache = System.getenv("HB_CACHE");
    Path base = cache != null && !cache.isBlank() ? Path.of(cache)
        : Path.of(System.getProperty("user.home"), ".cache", "hybrid-bridge");
    return base.resolve("metadata");
  }

  @Override
  public Integer call() {
    List<InspectionTool> selected;
    List<SnapshotNames.Named> targets;
    ReferenceStore referenceStore;
    try {
      selected = Tools.parseList(tools);
      SnapshotNames names = SnapshotNames.of(references);
      targets = snapshots == null ? names.snapshotsOf(build) : snapshots.stream().map(names::resolve).toList();
      referenceStore = ReferenceStore.open(references);
      if (referenceStore.references().stream().noneMatch(r -> r.kernelBuild().equals(build))) {
        throw new IllegalArgumentException("no reference of build " + build + " in " + references);
      }
    } catch (ToolException | DatasetException | java.io.IOException | IllegalArgumentException e) {
      System.err.println("train: " + e.getMessage());
      return 2;
    }
    if (targets.isEmpty()) {
      System.err.println("train: no snapshots of build " + build + " to train on (give --snapshots)");
      return 2;
    }
    List<TrainingMetadata> learnt = new ArrayList<>();
    Map<String, SlowPath> byReference = new LinkedHashMap<>(); // one per CPU count the snapshots have
    try {
      for (SnapshotNames.Named target : targets) {
        try (UntrustedSnapshot u = UntrustedSnapshot.open(target.path(), target.id(), target.vmId())) {
          ReferenceStore.Reference reference = referenceStore.require(u.kernel());
          if (!reference.kernelBuild().equals(build)) {
            throw new SlowPathException(SlowPathException.Reason.SNAPSHOT, target.id() + " is a snapshot of "
                + reference.kernelBuild() + ", not of " + build);
          }
          SlowPath slow = byReference.get(reference.id());
          if (slow == null) {
            slow = SlowPath.open(reference);
            byReference.put(reference.id(), slow);
          }
          for (InspectionTool tool : selected) { // one snapshot opened for all its tools
            SlowPath.Inspection run = slow.inspect(u, tool);
            System.out.println(run.summary() + "  [" + target.id() + "]");
            learnt.add(run.metadata());
          }
        }
      }
      MetadataStore metadata = MetadataStore.open(store);
      MetadataStore.Version version = metadata.commit(learnt);
      String buildId = learnt.get(0).getBuildId();
      for (InspectionTool tool : selected) {
        TrainingMetadata unit = version.get(buildId, tool.name()).orElseThrow();
        long mixed = unit.getEntries().stream().filter(e -> e.getDecision() == RedirectDecision.MIXED).count();
        long redirected = unit.getEntries().stream().filter(e -> e.getDecision() != RedirectDecision.LOCAL).count();
        System.out.printf("%s %s: %d entries (%d redirected or mixed, %d mixed), %d snapshots in its provenance%n",
            build, tool.name(), unit.getEntries().size(), redirected, mixed,
            unit.getProvenance().getSnapshots().size());
      }
      System.out.printf("store %s: version %d%n", metadata.directory(), version.number());
      return 0;
    } catch (SlowPathException | MetadataException | ReferenceNotFoundException | KernelAnalysisException e) {
      System.err.println("train: " + e.getMessage());
      return 1;
    } finally {
      byReference.values().forEach(SlowPath::close);
    }
  }
}
