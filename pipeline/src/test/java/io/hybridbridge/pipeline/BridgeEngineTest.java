package io.hybridbridge.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.kernel.GuestKernel;
import io.hybridbridge.emulator.kernel.KernelIdentity;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.fastexec.FastPath;
import io.hybridbridge.pipeline.engine.InspectionOutcome;
import io.hybridbridge.pipeline.engine.MetadataView;
import io.hybridbridge.schemas.ScanTarget;
import io.hybridbridge.schemas.SnapshotRef;
import io.hybridbridge.schemas.TrainingMetadata;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** The real engine's inspectors on the default dataset: how many fast paths they keep open. */
@Tag("dataset")
class BridgeEngineTest {
  @Test
  void anInspectorKeepsAtMostItsBoundOfFastPathsOpenAndReopensThemWithTheSameRows() throws Exception {
    Path dataset = ReferenceStore.defaultDatasetDirectory();
    ReferenceStore references = ReferenceStore.open(dataset);
    // Builds in this order: 6.1, 6.12, 6.1, cloud, 6.12.
    List<SnapshotRef> snapshots = List.of(identified(references, dataset.resolve("6.1.0-53-amd64/boot1/dump1.elf")),
        identified(references, dataset.resolve("6.12.95+deb12-amd64/boot1/dump1.elf")),
        identified(references, dataset.resolve("6.1.0-53-amd64/boot2/dump1.elf")),
        identified(references, dataset.resolve("6.1.0-53-cloud-amd64/boot1/dump1.elf")),
        identified(references, dataset.resolve("6.12.95+deb12-amd64/boot2/dump1.elf")));
    BridgeEngine oneOpen = new BridgeEngine(dataset, FastPath.TRANSLATE_AFTER, Optional.empty(), 1);
    BridgeEngine allOpen = new BridgeEngine(dataset, FastPath.TRANSLATE_AFTER, Optional.empty(), 3);

    try (BridgeEngine.Inspector one = (BridgeEngine.Inspector) oneOpen.open();
        BridgeEngine.Inspector all = (BridgeEngine.Inspector) allOpen.open()) {
      for (SnapshotRef snapshot : snapshots) {
        for (InspectionTool tool : List.of(Tools.LSMOD, Tools.MOUNT)) {
          InspectionOutcome<TrainingMetadata> reopened = one.inspect(snapshot, tool, MetadataView.none());
          InspectionOutcome<TrainingMetadata> kept = all.inspect(snapshot, tool, MetadataView.none());
          assertThat(reopened.kind()).as("%s %s", snapshot.getTarget().getId(), tool.name())
              .isEqualTo(InspectionOutcome.Kind.SLOW);
          assertThat(reopened.rows()).as("%s %s", snapshot.getTarget().getId(), tool.name()).isNotEmpty()
              .isEqualTo(kept.rows());
        }
      }
      // With one open, each change of build closes the fast path of the one before: 4 changes.
      assertThat(one.closedToBoundMemory()).isEqualTo(4);
      assertThat(all.closedToBoundMemory()).isZero();
    }
  }

  @Test
  void theBoundFollowsTheHeap() {
    assertThat(BridgeEngine.openFastPathsFor(4L << 30)).isEqualTo(8);
    assertThat(BridgeEngine.openFastPathsFor(256L << 20)).isEqualTo(2);
  }

  /** The snapshot as the scan's identification gives it to the engine. */
  private static SnapshotRef identified(ReferenceStore references, Path path) throws Exception {
    try (Snapshot snapshot = SnapshotFiles.open(path.toString())) {
      GuestKernel kernel = GuestKernel.locate(snapshot);
      KernelIdentity identity = kernel.identity();
      ReferenceStore.Reference reference = references.require(kernel);
      return SnapshotRef.newBuilder()
          .setTarget(ScanTarget.newBuilder().setId(path.toString()).setPath(path.toString()).build())
          .setFormat(snapshot.format().name()).setSizeBytes(snapshot.sizeBytes()).setKernelBuild(identity.buildName())
          .setBuildId(identity.buildId()).setBanner(identity.banner()).setReferenceId(reference.id())
          .setReferencePath(reference.snapshot().toString()).build();
    }
  }
}
