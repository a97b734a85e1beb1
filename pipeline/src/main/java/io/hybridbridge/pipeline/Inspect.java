package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.pipeline.StatusRows.Effort;
import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.InspectionEngine;
import io.hybridbridge.pipeline.engine.InspectionOutcome;
import io.hybridbridge.pipeline.engine.MetadataView;
import io.hybridbridge.pipeline.engine.SnapshotSession;
import io.hybridbridge.schemas.FallbackRow;
import io.hybridbridge.schemas.SnapshotRef;
import io.hybridbridge.schemas.StatusRow;
import java.util.Map;
import org.apache.beam.sdk.transforms.Count;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;

/**
 * Fast execution (DESIGN §4): every identified snapshot with every tool, with the run's metadata (store version +
 * this run's training) as a side input. One element is a group of snapshots of one build ({@link GroupByBuild}), one
 * snapshot unless the scan has more builds than a worker keeps open; each snapshot is opened once ({@link
 * SnapshotSession}) and each tool runs on it in turn, each with its own timing and outcome. Rows go to their tables
 * with an OK_FAST (or, where no metadata exists, OK_SLOW) status row; a fallback writes its {@code fallbacks} rows
 * and sends the (snapshot, tool) to {@link Retrain}; a failure is a FAILED status row. One tool's fallback or
 * failure leaves the other tools' rows as they are. Outputs: {@link InspectionOutputs}.
 */
final class Inspect<M> extends PTransform<PCollection<KV<String, SnapshotRef>>, PCollectionTuple> {
  private final InspectionEngine<M> engine;
  private final InspectionOutputs<M> outputs;
  private final PCollectionView<Map<BuildTool, M>> metadata;

  Inspect(InspectionEngine<M> engine, InspectionOutputs<M> outputs, PCollectionView<Map<BuildTool, M>> metadata) {
    this.engine = engine;
    this.outputs = outputs;
    this.metadata = metadata;
  }

  @Override
  public PCollectionTuple expand(PCollection<KV<String, SnapshotRef>> identified) {
    PCollection<KV<String, Iterable<SnapshotRef>>> groups =
        identified.apply("Group by build", new GroupByBuild(engine));
    return outputs.withCoders(groups.apply("Run tools", ParDo.of(new InspectFn<>(engine, outputs, metadata))
        .withSideInputs(metadata)
        .withOutputTags(outputs.status, outputs.others(outputs.status))), engine.metadataCoder());
  }

  /**
   * Groups identified snapshots (keyed by build-id) for the workers: each snapshot alone while the scan has no more
   * builds than an inspector keeps open ({@link InspectionEngine#buildsKeptOpen}), so the snapshots spread over the
   * workers one by one; otherwise into groups of one build, of about {@link #GROUP_SIZE}, which a worker inspects in
   * a row: spread one by one over more builds than it keeps, a worker's inspector would close and open a fast path
   * for nearly every snapshot (0.1–0.3 s each). Keys are {@code build-id#k}.
   */
  static final class GroupByBuild
      extends PTransform<PCollection<KV<String, SnapshotRef>>, PCollection<KV<String, Iterable<SnapshotRef>>>> {
    private final InspectionEngine<?> engine;

    GroupByBuild(InspectionEngine<?> engine) {
      this.engine = engine;
    }

    @Override
    public PCollection<KV<String, Iterable<SnapshotRef>>> expand(PCollection<KV<String, SnapshotRef>> identified) {
      PCollectionView<Map<String, Long>> perBuild = identified
          .apply("Snapshots per build", Count.perKey())
          .apply("As map", View.asMap());
      return identified
          .apply("Group keys", ParDo.of(new GroupKeyFn(engine, perBuild)).withSideInputs(perBuild))
          .setCoder(identified.getCoder())
          .apply("Groups", GroupByKey.create());
    }
  }

  /**
   * Snapshots of one build a worker inspects in a row, about: enough that a fast path opened for a group serves
   * several snapshots, few enough that a build's snapshots still spread over the workers and the last groups of a
   * scan do not keep the others waiting long.
   */
  static final int GROUP_SIZE = 8;

  /**
   * The key of {@code snapshotId}'s group among the {@code ofBuild} snapshots of its build: {@code grouped}, one of
   * ⌈ofBuild / {@link #GROUP_SIZE}⌉ groups, by a hash of the id; otherwise a group of its own, named by the id.
   */
  static String groupKey(String buildId, String snapshotId, long ofBuild, boolean grouped) {
    if (!grouped) {
      return buildId + "#" + snapshotId;
    }
    long groups = Math.max(1, (ofBuild + GROUP_SIZE - 1) / GROUP_SIZE);
    return buildId + "#" + Math.floorMod(snapshotId.hashCode(), groups);
  }

  static final class GroupKeyFn extends DoFn<KV<String, SnapshotRef>, KV<String, SnapshotRef>> {
    private final InspectionEngine<?> engine;
    private final PCollectionView<Map<String, Long>> perBuild;

    GroupKeyFn(InspectionEngine<?> engine, PCollectionView<Map<String, Long>> perBuild) {
      this.engine = engine;
      this.perBuild = perBuild;
    }

    @ProcessElement
    public void process(@Element KV<String, SnapshotRef> identified, OutputReceiver<KV<String, SnapshotRef>> out,
        ProcessContext context) {
      Map<String, Long> builds = context.sideInput(perBuild);
      String build = identified.getKey();
      boolean grouped = builds.size() > engine.buildsKeptOpen(); // on the worker: its heap bounds its fast paths
      out.output(KV.of(groupKey(build, identified.getValue().getTarget().getId(), builds.getOrDefault(build, 1L),
          grouped), identified.getValue()));
    }
  }

  /** Inspects a group of snapshots of one build, one after the other. */
  static final class InspectFn<M> extends EngineFn<KV<String, Iterable<SnapshotRef>>, StatusRow, M> {
    private final InspectionOutputs<M> outputs;
    private final PCollectionView<Map<BuildTool, M>> metadata;

    InspectFn(InspectionEngine<M> engine, InspectionOutputs<M> outputs,
        PCollectionView<Map<BuildTool, M>> metadata) {
      super(engine);
      this.outputs = outputs;
      this.metadata = metadata;
    }

    @ProcessElement
    public void process(@Element KV<String, Iterable<SnapshotRef>> group, MultiOutputReceiver out,
        ProcessContext context) {
      MetadataView<M> view = MetadataView.of(context.sideInput(metadata));
      for (SnapshotRef snapshot : group.getValue()) {
        try (SnapshotSession<M> session = session(snapshot)) {
          for (String name : outputs.toolNames()) {
            runTool(session, snapshot, InspectionOutputs.tool(name), view, out);
          }
        }
      }
    }

    private void runTool(SnapshotSession<M> session, SnapshotRef snapshot, InspectionTool tool,
        MetadataView<M> view, MultiOutputReceiver out) {
      Timed<M> run = inspect(session, snapshot, tool, view);
      InspectionOutcome<M> outcome = run.outcome();
      Effort effort = new Effort(run.wallMillis(), outcome.instructions(), outcome.redirectedInstructions(),
          outcome.fallbacks().size());
      if (run.engineBug() != null) {
        outputs.emitFailure(out, snapshot, tool, StatusRows.INTERNAL, run.engineBug(), effort);
        return;
      }
      if (outcome.kind() != InspectionOutcome.Kind.FALLBACK) {
        outputs.emitFinal(out, snapshot, tool, outcome, effort);
        return;
      }
      for (FallbackRow fallback : outcome.fallbacks()) {
        out.get(outputs.fallbacks).output(fallback);
      }
      ScanCounters.counter(ScanCounters.FALLBACKS).inc(outcome.fallbacks().size());
      out.get(outputs.retry).output(KV.of(BuildTool.of(snapshot, tool.name()), KV.of(snapshot, effort)));
    }
  }
}
