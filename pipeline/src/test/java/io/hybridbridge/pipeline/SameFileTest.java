package io.hybridbridge.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.schemas.MetadataRow;
import io.hybridbridge.schemas.ScanOutcome;
import io.hybridbridge.schemas.ScanTarget;
import io.hybridbridge.schemas.SnapshotRow;
import io.hybridbridge.schemas.StatusRow;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.junit.Rule;
import org.junit.Test;

/** One inspection per file: the first entry of a file is scanned, its rows are copied to the file's other entries. */
public class SameFileTest {
  @Rule public final transient TestPipeline p = TestPipeline.create();

  private static final List<ScanTarget> ENTRIES = List.of(
      target("b-clone", "/fleet/golden.kdump", "vm-b", Map.of("team", "blue")),
      target("a-golden", "/fleet/golden.kdump", "vm-a", Map.of("team", "red")),
      target("c-clone", "/fleet/golden.kdump", "vm-c", Map.of()),
      target("other", "/fleet/other.elf", "vm-o", Map.of()));

  @Test
  public void eachFileIsScannedOnceUnderItsFirstEntryAndItsRowsReachEveryEntry() {
    PCollectionTuple once = p.apply(Create.of(ENTRIES).withCoder(AvroCoder.of(ScanTarget.class)))
        .apply(SameFile.once());
    PAssert.that(once.get(SameFile.FILES)).containsInAnyOrder(ENTRIES.get(1), ENTRIES.get(3));
    PCollectionView<Map<String, Iterable<ScanTarget>>> copies = SameFile.copiesView(once);

    PCollection<StatusRow> status = p.apply("Status", Create.of(status("a-golden", "vm-a", "ps"),
            status("other", "vm-o", "ps"))
        .withCoder(AvroCoder.of(StatusRow.class)))
        .apply("Copy status", SameFile.copiedRows(copies));
    PAssert.that(status).satisfies(rows -> {
      List<String> seen = new ArrayList<>();
      rows.forEach(r -> seen.add(r.getSnapshotId() + "/" + r.getVmId() + "/" + r.getTool() + "/" + r.getWallMs()));
      assertThat(seen).containsExactlyInAnyOrder("a-golden/vm-a/ps/7", "b-clone/vm-b/ps/7", "c-clone/vm-c/ps/7",
          "other/vm-o/ps/7");
      return null;
    });

    PCollection<SnapshotRow> snapshots = p.apply("Snapshots", Create.of(snapshot("a-golden", "vm-a", "red"))
            .withCoder(AvroCoder.of(SnapshotRow.class)))
        .apply("Copy snapshots", SameFile.copiedRows(copies));
    PAssert.that(snapshots).satisfies(rows -> {
      List<String> seen = new ArrayList<>();
      rows.forEach(r -> seen.add(r.getSnapshotId() + "/" + r.getVmId() + "/" + r.getLabels()));
      assertThat(seen).containsExactlyInAnyOrder("a-golden/vm-a/{team=red}", "b-clone/vm-b/{team=blue}",
          "c-clone/vm-c/{}");
      return null;
    });

    // A table not about one snapshot passes through unchanged.
    MetadataRow entry = MetadataRow.newBuilder().setKernelBuild("k").setBuildId("b").setTool("ps")
        .setStoreVersion(1).setPcOffset(16).setOperand(0).setDecision("REDIRECT").setLocalCount(0)
        .setRedirectCount(1).setContexts(1).setMixedContexts(0).setReferenceId("r").setTrainedOn(List.of("a-golden"))
        .setTrainingRuns(1).setTrainedMillis(0).build();
    PAssert.that(p.apply("Metadata", Create.of(entry).withCoder(AvroCoder.of(MetadataRow.class)))
        .apply("Copy metadata", SameFile.copiedRows(copies))).containsInAnyOrder(entry);
    p.run();
    assertThat(SameFile.distinctFiles(ENTRIES)).isEqualTo(2);
  }

  @Test
  public void batchesKeepTheOrderAndTheEntriesOfOneFileTogether() {
    List<ScanTarget> list = List.of(target("a1", "/f/a", null, Map.of()), target("b", "/f/b", null, Map.of()),
        target("a2", "/f/a", null, Map.of()), target("c", "/f/c", null, Map.of()), target("d", "/f/d", null, Map.of()),
        target("a3", "/f/a", null, Map.of()), target("e", "/f/e", null, Map.of()));
    assertThat(SameFile.batches(list, 3)).extracting(batch -> batch.stream().map(ScanTarget::getId).toList())
        .containsExactly(List.of("a1", "a2", "a3"), List.of("b", "c", "d"), List.of("e"));
    assertThat(SameFile.batches(list, 2)).extracting(batch -> batch.stream().map(ScanTarget::getId).toList())
        .containsExactly(List.of("a1", "a2", "a3"), List.of("b", "c"), List.of("d", "e"));
    assertThat(SameFile.batches(list, 100)).containsExactly(List.of(list.get(0), list.get(2), list.get(5),
        list.get(1), list.get(3), list.get(4), list.get(6)));
    assertThat(SameFile.batches(List.of(), 5)).isEmpty();
  }

  private static ScanTarget target(String id, String path, String vm, Map<String, String> labels) {
    return ScanTarget.newBuilder().setId(id).setPath(path).setVmId(vm).setLabels(labels).build();
  }

  private static StatusRow status(String id, String vm, String tool) {
    return StatusRow.newBuilder().setSnapshotId(id).setVmId(vm).setPath("/fleet/x").setTool(tool)
        .setOutcome(ScanOutcome.OK_FAST).setWallMs(7).setInstructions(1).setRedirectedInstructions(1).setFallbacks(0)
        .build();
  }

  private static SnapshotRow snapshot(String id, String vm, String team) {
    return SnapshotRow.newBuilder().setSnapshotId(id).setVmId(vm).setKernelBuild("k").setBuildId("b")
        .setBanner("Linux").setPath("/fleet/golden.kdump").setFormat("KDUMP").setSizeBytes(1)
        .setReferenceId("r").setLabels(Map.of("team", team)).build();
  }
}
