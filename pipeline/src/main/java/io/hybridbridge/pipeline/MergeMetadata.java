package io.hybridbridge.pipeline;

import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.EngineException;
import io.hybridbridge.pipeline.engine.InspectionEngine;
import io.hybridbridge.pipeline.engine.MetadataStore;
import java.util.HashMap;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.coders.VarLongCoder;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;

/**
 * Merges what this run learnt (training, slow runs, re-training deltas) per (build, tool) and commits it to the
 * store once, as its next version (DESIGN §4). The output is the committed version number, or nothing when the run
 * learnt nothing; the Parquet tables wait for it, so a failed commit leaves them uncommitted too.
 */
final class MergeMetadata<M> extends PTransform<PCollectionList<KV<BuildTool, M>>, PCollection<Long>> {
  private static final String ONE_COMMIT = "next version";

  private final InspectionEngine<M> engine;
  private final MetadataStore<M> store;

  MergeMetadata(InspectionEngine<M> engine, MetadataStore<M> store) {
    this.engine = engine;
    this.store = store;
  }

  @Override
  public PCollection<Long> expand(PCollectionList<KV<BuildTool, M>> learnt) {
    KvCoder<BuildTool, M> unitCoder = KvCoder.of(BuildTool.coder(), engine.metadataCoder());
    return learnt
        .apply("All learnt", Flatten.pCollections())
        .apply("Per build and tool", GroupByKey.create())
        .apply("Merge", ParDo.of(new MergeFn<>(engine)))
        .setCoder(unitCoder)
        .apply("One commit", WithKeys.of(ONE_COMMIT))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), unitCoder))
        .apply("Gather", GroupByKey.create())
        .apply("Commit next version", ParDo.of(new CommitFn<>(store)))
        .setCoder(VarLongCoder.of());
  }

  /** Folds every unit learnt for one (build, tool) into one. */
  static final class MergeFn<M> extends DoFn<KV<BuildTool, Iterable<M>>, KV<BuildTool, M>> {
    private final InspectionEngine<M> engine;

    MergeFn(InspectionEngine<M> engine) {
      this.engine = engine;
    }

    @ProcessElement
    public void process(@Element KV<BuildTool, Iterable<M>> units, OutputReceiver<KV<BuildTool, M>> out)
        throws EngineException {
      M merged = null;
      for (M unit : units.getValue()) {
        merged = merged == null ? unit : engine.merge(merged, unit);
      }
      out.output(KV.of(units.getKey(), merged));
    }
  }

  static final class CommitFn<M> extends DoFn<KV<String, Iterable<KV<BuildTool, M>>>, Long> {
    private final MetadataStore<M> store;

    CommitFn(MetadataStore<M> store) {
      this.store = store;
    }

    @ProcessElement
    public void process(@Element KV<String, Iterable<KV<BuildTool, M>>> all, OutputReceiver<Long> out)
        throws EngineException {
      Map<BuildTool, M> learnt = new HashMap<>();
      all.getValue().forEach(unit -> learnt.put(unit.getKey(), unit.getValue()));
      out.output(store.commit(learnt));
      ScanCounters.counter(ScanCounters.METADATA_COMMITS).inc();
    }
  }
}
