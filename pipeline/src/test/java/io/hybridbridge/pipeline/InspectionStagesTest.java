package io.hybridbridge.pipeline;

import static io.hybridbridge.pipeline.ScriptedEngine.FAST_INSTRUCTIONS;
import static io.hybridbridge.pipeline.ScriptedEngine.SLOW_INSTRUCTIONS;
import static io.hybridbridge.pipeline.ScriptedEngine.snapshot;
import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.pipeline.StatusRows.Effort;
import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.MetadataStore;
import io.hybridbridge.schemas.FallbackRow;
import io.hybridbridge.schemas.MetadataRow;
import io.hybridbridge.schemas.ModuleRow;
import io.hybridbridge.schemas.ScanOutcome;
import io.hybridbridge.schemas.SnapshotRef;
import io.hybridbridge.schemas.StatusRow;
import io.hybridbridge.schemas.SystemRow;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.junit.Rule;
import org.junit.Test;

/**
 * The training, fast-execution, re-training and merge transforms on the Direct runner, through the engine seam,
 * with a scripted test engine (no emulation): what each stage asks of the engine and what it makes of the answers.
 */
public class InspectionStagesTest {
  private static final ScriptedEngine ENGINE = new ScriptedEngine();
  private static final KvCoder<String, SnapshotRef> IDENTIFIED =
      KvCoder.of(StringUtf8Coder.of(), AvroCoder.of(SnapshotRef.class));
  private static final KvCoder<BuildTool, List<String>> UNITS =
      KvCoder.of(BuildTool.coder(), ENGINE.metadataCoder());

  @Rule public final transient TestPipeline p = TestPipeline.create();

  @Test
  public void trainingRunsTheSlowPathOnTheSmallestIdsOfEachBuildForToolsWithoutMetadata() {
    PCollection<KV<String, SnapshotRef>> identified = identified(
        snapshot("b1-a", "b1", "s1"), snapshot("b1-b", "b1", "s2"), snapshot("b1-c", "b1", "s3"),
        snapshot("b2-a", "b2", "s1"),
        snapshot("b3-fails", "b3", "s1"));
    Set<BuildTool> known = Set.of(new BuildTool("b2", "system"));

    PAssert.that(identified.apply("one sample", new Train<>(ENGINE, List.of("system", "lsmod"), known, 1)))
        .containsInAnyOrder(
            KV.of(new BuildTool("b1", "system"), List.of("s1")), KV.of(new BuildTool("b1", "lsmod"), List.of("s1")),
            KV.of(new BuildTool("b2", "lsmod"), List.of("s1")));
    PAssert.that(identified.apply("two samples", new Train<>(ENGINE, List.of("system"), known, 2)))
        .containsInAnyOrder(KV.of(new BuildTool("b1", "system"), List.of("s1", "s2")));
    PipelineResult result = p.run();
    result.waitUntilFinish();

    Map<String, Long> counters = ScanCounters.read(result);
    assertThat(counters).containsEntry(ScanCounters.TRAINED, 4L)
        .containsEntry(ScanCounters.TRAINING_FAILED, 3L); // b3: system and lsmod, then system again
  }

  @Test
  public void fastExecutionAnswersFallsBackOrFailsPerSnapshotAndTool() {
    InspectionOutputs<List<String>> outputs = new InspectionOutputs<>(List.of(Tools.SYSTEM));
    PCollectionView<Map<BuildTool, List<String>>> metadata = p
        .apply("metadata", Create.of(KV.of(new BuildTool("b1", "system"), List.of("s1"))).withCoder(UNITS))
        .apply(View.asMap());
    PCollectionTuple out = identified(
        snapshot("b1-fast", "b1", "s1"), snapshot("b1-new-shape", "b1", "s2"), snapshot("b2-untrained", "b2", "s1"),
        snapshot("b1-fails", "b1", "s1"), snapshot("b1-throws", "b1", "s1"), snapshot("b1-wrong-rows", "b1", "s1"))
        .apply(new Inspect<>(ENGINE, outputs, metadata));

    PAssert.that(out.get(outputs.status)).satisfies(rows -> {
      assertThat(rows).extracting(StatusRow::getSnapshotId, StatusRow::getTool, StatusRow::getOutcome,
          StatusRow::getFailureKind, StatusRow::getInstructions).containsExactlyInAnyOrder(
          tuple("b1-fast", "system", ScanOutcome.OK_FAST, null, FAST_INSTRUCTIONS),
          tuple("b2-untrained", "system", ScanOutcome.OK_SLOW, null, SLOW_INSTRUCTIONS),
          tuple("b1-fails", "system", ScanOutcome.FAILED, StatusRows.INSPECTION_FAILED, 7L),
          tuple("b1-throws", "system", ScanOutcome.FAILED, StatusRows.INTERNAL, 0L),
          tuple("b1-wrong-rows", "system", ScanOutcome.FAILED, StatusRows.INTERNAL, FAST_INSTRUCTIONS));
      assertThat(rows).filteredOn(r -> r.getSnapshotId().equals("b1-throws")).first()
          .extracting(StatusRow::getReason).asString().contains("threw java.lang.IllegalStateException: scripted bug");
      assertThat(rows).filteredOn(r -> r.getSnapshotId().equals("b1-wrong-rows")).first()
          .extracting(StatusRow::getReason).asString().contains("ModuleRow for table system");
      assertThat(rows).allSatisfy(r -> assertThat(r.getVmId()).isEqualTo("vm-" + r.getSnapshotId()));
      return null;
    });
    PAssert.that(out.get(outputs.tables().get("system"))).satisfies(rows -> {
      assertThat(rows).extracting(r -> ((SystemRow) r).getSnapshotId())
          .containsExactlyInAnyOrder("b1-fast", "b2-untrained");
      return null;
    });
    PAssert.that(out.get(outputs.fallbacks)).satisfies(rows -> {
      assertThat(rows).extracting(FallbackRow::getSnapshotId, FallbackRow::getReason)
          .containsExactly(tuple("b1-new-shape", "unseen shape s2"));
      return null;
    });
    PAssert.that(out.get(outputs.retry)).satisfies(retries -> {
      KV<BuildTool, KV<SnapshotRef, Effort>> retry = retries.iterator().next();
      assertThat(retries).hasSize(1);
      assertThat(retry.getKey()).isEqualTo(new BuildTool("b1", "system"));
      assertThat(retry.getValue().getKey().getTarget().getId()).isEqualTo("b1-new-shape");
      assertThat(retry.getValue().getValue().fallbacks()).isEqualTo(1);
      assertThat(retry.getValue().getValue().instructions()).isEqualTo(FAST_INSTRUCTIONS / 2);
      return null;
    });
    PAssert.that(out.get(outputs.learnt))
        .containsInAnyOrder(KV.of(new BuildTool("b2", "system"), List.of("s1")));
    p.run().waitUntilFinish();
  }

  @Test
  public void snapshotsAreGroupedByBuildOnlyWhenTheScanHasMoreBuildsThanAnInspectorKeepsOpen() {
    List<SnapshotRef> snapshots = new java.util.ArrayList<>();
    for (int k = 0; k < 40; k++) {
      snapshots.add(snapshot("b1-" + k, "b1", "s1"));
    }
    for (int k = 0; k < 3; k++) {
      snapshots.add(snapshot("b2-" + k, "b2", "s1"));
    }
    PCollection<KV<String, SnapshotRef>> identified = identified(snapshots.toArray(new SnapshotRef[0]));
    List<String> ids = snapshots.stream().map(s -> s.getTarget().getId()).toList();

    PAssert.that(identified.apply("one build kept", new Inspect.GroupByBuild(new ScriptedEngine(1))))
        .satisfies(groups -> {
          Map<String, Integer> groupsPerBuild = groupsPerBuild(groups, ids);
          assertThat(groupsPerBuild).containsEntry("b2", 1); // 3 snapshots: one group
          assertThat(groupsPerBuild.get("b1")).isBetween(3, 5); // 40 snapshots: 5 groups by their ids' hash
          return null;
        });
    PAssert.that(identified.apply("two builds kept", new Inspect.GroupByBuild(new ScriptedEngine(2))))
        .satisfies(groups -> {
          assertThat(groupsPerBuild(groups, ids)).containsEntry("b1", 40).containsEntry("b2", 3); // one by one
          return null;
        });
    p.run().waitUntilFinish();
    assertThat(Inspect.groupKey("b1", "vm/dump", 8, true)).isEqualTo("b1#0");
    assertThat(Inspect.groupKey("b1", "vm/dump", 9, true)).isIn("b1#0", "b1#1");
    assertThat(Inspect.groupKey("b1", "vm/dump", 9, false)).isEqualTo("b1#vm/dump");
  }

  /** Groups per build; asserts that a group holds one build's snapshots and that every snapshot is in one group. */
  private static Map<String, Integer> groupsPerBuild(Iterable<KV<String, Iterable<SnapshotRef>>> groups,
      List<String> ids) {
    List<String> grouped = new java.util.ArrayList<>();
    Map<String, Integer> groupsPerBuild = new java.util.TreeMap<>();
    for (KV<String, Iterable<SnapshotRef>> group : groups) {
      String build = group.getKey().substring(0, group.getKey().indexOf('#'));
      groupsPerBuild.merge(build, 1, Integer::sum);
      for (SnapshotRef s : group.getValue()) {
        assertThat(s.getBuildId()).as("a group holds one build's snapshots").isEqualTo(build);
        grouped.add(s.getTarget().getId());
      }
    }
    assertThat(grouped).containsExactlyInAnyOrderElementsOf(ids);
    return groupsPerBuild;
  }

  @Test
  public void eachSnapshotIsOpenedOnceForAllItsToolsAndOneToolsFallbackKeepsTheOthersRows() {
    InspectionOutputs<List<String>> outputs = new InspectionOutputs<>(List.of(Tools.SYSTEM, Tools.LSMOD));
    PCollectionView<Map<BuildTool, List<String>>> metadata = p
        .apply("metadata", Create.of(KV.of(new BuildTool("b1", "system"), List.of("s2")),
            KV.of(new BuildTool("b1", "lsmod"), List.of("s1"))).withCoder(UNITS))
        .apply(View.asMap());
    PCollectionTuple out = identified(snapshot("b1-one-session-a", "b1", "s2"),
        snapshot("b1-one-session-b", "b1", "s1"))
        .apply(new Inspect<>(ENGINE, outputs, metadata));

    PAssert.that(out.get(outputs.status)).satisfies(rows -> {
      assertThat(rows).extracting(StatusRow::getSnapshotId, StatusRow::getTool, StatusRow::getOutcome)
          .containsExactlyInAnyOrder(tuple("b1-one-session-a", "system", ScanOutcome.OK_FAST),
              tuple("b1-one-session-b", "lsmod", ScanOutcome.OK_FAST));
      return null;
    });
    PAssert.that(out.get(outputs.tables().get("system"))).satisfies(rows -> {
      assertThat(rows).extracting(r -> ((SystemRow) r).getSnapshotId()).containsExactly("b1-one-session-a");
      return null;
    });
    PAssert.that(out.get(outputs.tables().get("modules"))).satisfies(rows -> {
      assertThat(rows).extracting(r -> ((ModuleRow) r).getSnapshotId()).containsExactly("b1-one-session-b");
      return null;
    });
    PAssert.that(out.get(outputs.retry)).satisfies(retries -> {
      assertThat(retries).extracting(r -> r.getKey().tool() + " " + r.getValue().getKey().getTarget().getId())
          .containsExactlyInAnyOrder("lsmod b1-one-session-a", "system b1-one-session-b");
      return null;
    });
    p.run().waitUntilFinish();
    assertThat(ScriptedEngine.SESSIONS.get("b1-one-session-a")).hasValue(1);
    assertThat(ScriptedEngine.SESSIONS.get("b1-one-session-b")).hasValue(1);
  }

  @Test
  public void reTrainingAnswersOnTheSlowPathCountingBothRunsAndLearnsTheDelta() {
    InspectionOutputs<List<String>> outputs = new InspectionOutputs<>(List.of(Tools.SYSTEM));
    Effort fastRun = new Effort(3, 400, 4, 1);
    PCollectionTuple out = p
        .apply(Create.of(
                retry(snapshot("b1-x", "b1", "s2"), fastRun), retry(snapshot("b1-y", "b1", "s3"), fastRun),
                retry(snapshot("b1-fails", "b1", "s4"), fastRun),
                retry(snapshot("b1-always-fast", "b1", "s5"), fastRun))
            .withCoder(KvCoder.of(BuildTool.coder(), KvCoder.of(AvroCoder.of(SnapshotRef.class),
                SerializableCoder.of(Effort.class)))))
        .apply(new Retrain<>(ENGINE, outputs));

    PAssert.that(out.get(outputs.status)).satisfies(rows -> {
      assertThat(rows).extracting(StatusRow::getSnapshotId, StatusRow::getOutcome, StatusRow::getFallbacks,
          StatusRow::getInstructions).containsExactlyInAnyOrder(
          tuple("b1-x", ScanOutcome.OK_SLOW, 1, 400 + SLOW_INSTRUCTIONS),
          tuple("b1-y", ScanOutcome.OK_SLOW, 1, 400 + SLOW_INSTRUCTIONS),
          tuple("b1-fails", ScanOutcome.FAILED, 1, 407L),
          tuple("b1-always-fast", ScanOutcome.FAILED, 1, 400 + FAST_INSTRUCTIONS));
      assertThat(rows).filteredOn(r -> r.getSnapshotId().equals("b1-fails")).first()
          .extracting(StatusRow::getReason).asString()
          .isEqualTo("after 1 fallback(s) of the fast path, the slow path failed: scripted failure of system");
      assertThat(rows).filteredOn(r -> r.getSnapshotId().equals("b1-always-fast")).first()
          .extracting(StatusRow::getFailureKind).isEqualTo(StatusRows.INTERNAL);
      assertThat(rows).allSatisfy(r -> assertThat(r.getWallMs()).isGreaterThanOrEqualTo(3));
      return null;
    });
    PAssert.that(out.get(outputs.tables().get("system"))).satisfies(rows -> {
      assertThat(rows).extracting(r -> ((SystemRow) r).getNodename()).containsExactlyInAnyOrder("s2", "s3");
      return null;
    });
    PAssert.that(out.get(outputs.learnt)).containsInAnyOrder(
        KV.of(new BuildTool("b1", "system"), List.of("s2")), KV.of(new BuildTool("b1", "system"), List.of("s3")));
    p.run().waitUntilFinish();
  }

  @Test
  public void mergingFoldsWhatWasLearntPerBuildAndToolAndCommitsOneVersion() throws Exception {
    MemoryStore<List<String>> store = new MemoryStore<>("merge-test", ENGINE);
    BuildTool ps = new BuildTool("b1", "ps");
    BuildTool lsmod = new BuildTool("b1", "lsmod");
    BuildTool untouched = new BuildTool("b2", "ps");
    BuildTool notLearnt = new BuildTool("b1", "system");
    store.commit(Map.of(ps, List.of("s1"), untouched, List.of("s9"), notLearnt, List.of("s5")));
    PCollection<KV<BuildTool, List<String>>> trained = p.apply("trained",
        Create.of(KV.of(lsmod, List.of("s1"))).withCoder(UNITS));
    PCollection<KV<BuildTool, List<String>>> deltas = p.apply("deltas",
        Create.of(KV.of(ps, List.of("s3")), KV.of(ps, List.of("s2")), KV.of(lsmod, List.of("s4"))).withCoder(UNITS));

    PCollectionView<Map<String, String>> scanned = p.apply("scanned", Create.of(KV.of("b1", "build-b1")))
        .apply(View.asMap());

    // Out: every unit of the scan's builds in the version committed; b2, not scanned, stays in the store.
    PCollection<KV<BuildTool, KV<Long, List<String>>>> committed = PCollectionList.of(trained).and(deltas)
        .apply(new MergeMetadata<>(ENGINE, store, scanned));
    PAssert.that(committed).containsInAnyOrder(KV.of(ps, KV.of(2L, List.of("s1", "s2", "s3"))),
        KV.of(lsmod, KV.of(2L, List.of("s1", "s4"))), KV.of(notLearnt, KV.of(2L, List.of("s5"))));
    p.run().waitUntilFinish();

    assertThat(store.read().number()).isEqualTo(2);
    assertThat(store.read().units()).containsOnly(
        Map.entry(ps, List.of("s1", "s2", "s3")), Map.entry(lsmod, List.of("s1", "s4")),
        Map.entry(untouched, List.of("s9")), Map.entry(notLearnt, List.of("s5")));
  }

  @Test
  public void aRunThatLearntNothingCommitsNoVersion() {
    MemoryStore<List<String>> store = new MemoryStore<>("nothing-learnt", ENGINE);
    PCollectionView<Map<String, String>> scanned = p.apply("scanned", Create.of(KV.of("b1", "build-b1")))
        .apply(View.asMap());
    PCollection<KV<BuildTool, KV<Long, List<String>>>> committed = PCollectionList.of(p.apply("none",
            Create.empty(UNITS)))
        .apply(new MergeMetadata<>(ENGINE, store, scanned));
    PAssert.that(committed).empty();
    p.run().waitUntilFinish();
    assertThat(store.read().number()).isZero();
  }

  @Test
  public void aScanReadsFromItsStoreVersionOnlyTheUnitsOfItsBuildsAndTools() throws Exception {
    MemoryStore<List<String>> store = new MemoryStore<>("read-units", ENGINE);
    store.commit(Map.of(new BuildTool("b1", "system"), List.of("s1"), new BuildTool("b1", "ps"), List.of("p1"),
        new BuildTool("b2", "system"), List.of("s2"), new BuildTool("b3", "system"), List.of("s3")));
    store.commit(Map.of(new BuildTool("b1", "system"), List.of("s1-new"))); // after the scan's version
    MetadataStore.Index version = new MetadataStore.Index(1, store.read().units().keySet(), List.of());

    PCollection<KV<BuildTool, KV<Long, List<String>>>> read = p
        .apply(Create.of(KV.of("b1", "build-b1"), KV.of("b3", "build-b3"), KV.of("b-new", "build-new")))
        .apply(ParDo.of(new Scan.ReadUnitsFn<>(store, version, List.of("system", "lsmod"))))
        .setCoder(MergeMetadata.versionedCoder(ENGINE));

    PAssert.that(read).containsInAnyOrder(KV.of(new BuildTool("b1", "system"), KV.of(1L, List.of("s1"))),
        KV.of(new BuildTool("b3", "system"), KV.of(1L, List.of("s3"))));
    p.run().waitUntilFinish();
  }

  @Test
  public void theMetadataTableHasTheNewestUnitOfEachBuildAndToolOfTheScan() {
    KvCoder<BuildTool, KV<Long, List<String>>> versioned = MergeMetadata.versionedCoder(ENGINE);
    BuildTool b1System = new BuildTool("b1", "system");
    PCollection<KV<BuildTool, KV<Long, List<String>>>> read = p.apply("read", Create.of(
        KV.of(b1System, KV.of(3L, List.of("s1"))), KV.of(new BuildTool("b1", "lsmod"), KV.of(3L, List.of("s1"))),
        KV.of(new BuildTool("b1", "ps"), KV.of(3L, List.of("s1"))),
        KV.of(new BuildTool("b-not-scanned", "system"), KV.of(3L, List.of("s1")))).withCoder(versioned));
    PCollection<KV<BuildTool, KV<Long, List<String>>>> committed = p.apply("committed", Create.of(
        KV.of(b1System, KV.of(4L, List.of("s1", "s2"))), KV.of(new BuildTool("b2", "system"),
            KV.of(4L, List.of("s7"))), KV.of(new BuildTool("b1", "lsmod"), KV.of(4L, List.of("s1"))))
        .withCoder(versioned));
    PCollection<MetadataRow> rows = PCollectionList.of(read).and(committed).apply(new MetadataTable<>(ENGINE,
        List.of("system", "lsmod"), MetadataTable.builds(identified(snapshot("b1-a", "b1", "s1"),
            snapshot("b1-b", "b1", "s2")), Map.of("b2", "build-b2")) // b2: scanned by an earlier job
        .apply(View.asMap())));

    PAssert.that(rows).satisfies(all -> {
      assertThat(all).extracting(MetadataRow::getKernelBuild, MetadataRow::getTool, MetadataRow::getStoreVersion,
          MetadataRow::getSymbol).containsExactlyInAnyOrder(
          tuple("build-b1", "system", 4L, "s1"), tuple("build-b1", "system", 4L, "s2"),
          tuple("build-b1", "lsmod", 4L, "s1"), tuple("build-b2", "system", 4L, "s7"));
      return null;
    });
    p.run().waitUntilFinish();
  }

  private PCollection<KV<String, SnapshotRef>> identified(SnapshotRef... snapshots) {
    return p.apply("identified", Create.of(List.of(snapshots).stream()
        .map(s -> KV.of(s.getBuildId(), s)).toList()).withCoder(IDENTIFIED));
  }

  private static KV<BuildTool, KV<SnapshotRef, Effort>> retry(SnapshotRef snapshot, Effort effort) {
    return KV.of(BuildTool.of(snapshot, "system"), KV.of(snapshot, effort));
  }

  private static org.assertj.core.groups.Tuple tuple(Object... values) {
    return org.assertj.core.groups.Tuple.tuple(values);
  }
}
