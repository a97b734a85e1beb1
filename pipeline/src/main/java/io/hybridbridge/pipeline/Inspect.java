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
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;

/**
 * Fast execution (DESIGN §4): every identified snapshot with every tool, with the run's metadata (store version +
 * this run's training) as a side input. One element is one snapshot: it is opened once ({@link SnapshotSession})
 * and each tool runs on it in turn, each with its own timing and outcome. Rows go to their tables with an OK_FAST
 * (or, where no metadata exists, OK_SLOW) status row; a fallback writes its {@code fallbacks} rows and sends the
 * (snapshot, tool) to {@link Retrain}; a failure is a FAILED status row. One tool's fallback or failure leaves the
 * other tools' rows as they are. Outputs: {@link InspectionOutputs}.
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
    PCollection<KV<String, SnapshotRef>> snapshots = identified
        // A snapshot's tools cost seconds: spread snapshots over workers rather than keep them fused with the few
        // bundles that identification produced.
        .apply("Spread snapshots", Reshuffle.viaRandomKey());
    return outputs.withCoders(snapshots.apply("Run tools", ParDo.of(new InspectFn<>(engine, outputs, metadata))
        .withSideInputs(metadata)
        .withOutputTags(outputs.status, outputs.others(outputs.status))), engine.metadataCoder());
  }

  static final class InspectFn<M> extends EngineFn<KV<String, SnapshotRef>, StatusRow, M> {
    private final InspectionOutputs<M> outputs;
    private final PCollectionView<Map<BuildTool, M>> metadata;

    InspectFn(InspectionEngine<M> engine, InspectionOutputs<M> outputs,
        PCollectionView<Map<BuildTool, M>> metadata) {
      super(engine);
      this.outputs = outputs;
      this.metadata = metadata;
    }

    @ProcessElement
    public void process(@Element KV<String, SnapshotRef> identified, MultiOutputReceiver out,
        ProcessContext context) {
      SnapshotRef snapshot = identified.getValue();
      MetadataView<M> view = MetadataView.of(context.sideInput(metadata));
      try (SnapshotSession<M> session = session(snapshot)) {
        for (String name : outputs.toolNames()) {
          runTool(session, snapshot, InspectionOutputs.tool(name), view, out);
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
