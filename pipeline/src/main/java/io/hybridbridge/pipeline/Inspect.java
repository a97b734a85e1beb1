package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.pipeline.StatusRows.Effort;
import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.InspectionEngine;
import io.hybridbridge.pipeline.engine.InspectionOutcome;
import io.hybridbridge.pipeline.engine.MetadataView;
import io.hybridbridge.schemas.FallbackRow;
import io.hybridbridge.schemas.SnapshotRef;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Reshuffle;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;

/**
 * Fast execution (DESIGN §4): every identified snapshot with every tool, one engine call per (snapshot, tool), with
 * the run's metadata (store version + this run's training) as a side input. Rows go to their tables with an
 * OK_FAST (or, where no metadata exists, OK_SLOW) status row; a fallback writes its {@code fallbacks} rows and sends
 * the pair to {@link Retrain}; a failure is a FAILED status row. Outputs: {@link InspectionOutputs}.
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
    PCollection<KV<String, SnapshotRef>> pairs = identified
        .apply("Each tool", ParDo.of(new EachToolFn(outputs.toolNames())))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), AvroCoder.of(SnapshotRef.class)))
        // (snapshot, tool) runs cost seconds each: spread them over workers rather than keep them fused with
        // the few bundles that identification produced.
        .apply("Spread runs", Reshuffle.viaRandomKey());
    return outputs.withCoders(pairs.apply("Run tool", ParDo.of(new InspectFn<>(engine, outputs, metadata))
        .withSideInputs(metadata)
        .withOutputTags(outputs.status, outputs.others(outputs.status))), engine.metadataCoder());
  }

  /** (build, snapshot) to (tool, snapshot) for every tool. */
  static final class EachToolFn extends DoFn<KV<String, SnapshotRef>, KV<String, SnapshotRef>> {
    private final List<String> tools;

    EachToolFn(List<String> tools) {
      this.tools = List.copyOf(tools);
    }

    @ProcessElement
    public void process(@Element KV<String, SnapshotRef> snapshot, OutputReceiver<KV<String, SnapshotRef>> out) {
      for (String tool : tools) {
        out.output(KV.of(tool, snapshot.getValue()));
      }
    }
  }

  static final class InspectFn<M> extends EngineFn<KV<String, SnapshotRef>, io.hybridbridge.schemas.StatusRow, M> {
    private final InspectionOutputs<M> outputs;
    private final PCollectionView<Map<BuildTool, M>> metadata;

    InspectFn(InspectionEngine<M> engine, InspectionOutputs<M> outputs,
        PCollectionView<Map<BuildTool, M>> metadata) {
      super(engine);
      this.outputs = outputs;
      this.metadata = metadata;
    }

    @ProcessElement
    public void process(@Element KV<String, SnapshotRef> pair, MultiOutputReceiver out, ProcessContext context) {
      InspectionTool tool = InspectionOutputs.tool(pair.getKey());
      SnapshotRef snapshot = pair.getValue();
      Timed<M> run = inspect(snapshot, tool, MetadataView.of(context.sideInput(metadata)));
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
