package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.pipeline.StatusRows.Effort;
import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.InspectionEngine;
import io.hybridbridge.pipeline.engine.InspectionOutcome;
import io.hybridbridge.pipeline.engine.MetadataView;
import io.hybridbridge.schemas.SnapshotRef;
import io.hybridbridge.schemas.StatusRow;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;

/**
 * The re-training branch (DESIGN §4): the (snapshot, tool) pairs whose fast run fell back, grouped by (build,
 * tool) so that one worker re-runs all of a (build, tool) on the slow path with its engine state warm. Each re-run's
 * rows are the pair's answer (status OK_SLOW, counting the fallbacks and the time of both runs); what it learnt is
 * a metadata delta for {@link MergeMetadata}. Outputs: {@link InspectionOutputs} (rows, status, learnt deltas).
 */
final class Retrain<M> extends PTransform<PCollection<KV<BuildTool, KV<SnapshotRef, Effort>>>, PCollectionTuple> {
  private final InspectionEngine<M> engine;
  private final InspectionOutputs<M> outputs;

  Retrain(InspectionEngine<M> engine, InspectionOutputs<M> outputs) {
    this.engine = engine;
    this.outputs = outputs;
  }

  @Override
  public PCollectionTuple expand(PCollection<KV<BuildTool, KV<SnapshotRef, Effort>>> retries) {
    return outputs.withCoders(retries
        .apply("Group by build and tool", GroupByKey.create())
        .apply("Slow path", ParDo.of(new RetrainFn<>(engine, outputs))
            .withOutputTags(outputs.status, outputs.others(outputs.status))), engine.metadataCoder());
  }

  static final class RetrainFn<M> extends EngineFn<KV<BuildTool, Iterable<KV<SnapshotRef, Effort>>>, StatusRow, M> {
    private final InspectionOutputs<M> outputs;

    RetrainFn(InspectionEngine<M> engine, InspectionOutputs<M> outputs) {
      super(engine);
      this.outputs = outputs;
    }

    @ProcessElement
    public void process(@Element KV<BuildTool, Iterable<KV<SnapshotRef, Effort>>> group, MultiOutputReceiver out) {
      InspectionTool tool = InspectionOutputs.tool(group.getKey().tool());
      for (KV<SnapshotRef, Effort> retry : group.getValue()) {
        SnapshotRef snapshot = retry.getKey();
        Timed<M> run = inspect(snapshot, tool, MetadataView.none());
        InspectionOutcome<M> outcome = run.outcome();
        Effort effort = retry.getValue().plus(new Effort(run.wallMillis(), outcome.instructions(),
            outcome.redirectedInstructions(), 0));
        if (run.engineBug() != null) {
          outputs.emitFailure(out, snapshot, tool, StatusRows.INTERNAL, run.engineBug(), effort);
          continue;
        }
        switch (outcome.kind()) {
          case SLOW, FAILED -> outputs.emitFinal(out, snapshot, tool, outcome, effort);
          case FAST, FALLBACK -> outputs.emitFailure(out, snapshot, tool, StatusRows.INTERNAL, "engine "
              + engine().name() + " answered a slow-path run (no metadata) with a " + outcome.kind() + " outcome",
              effort);
        }
      }
    }
  }
}
