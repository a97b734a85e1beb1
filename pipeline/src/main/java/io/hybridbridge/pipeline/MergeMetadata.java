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
import org.apache.beam.sdk.values.PCollectionView;

/**
 * Merges what this run learnt (training, slow runs, re-training deltas) per (build, tool) into the store's version
 * <i>n</i> and commits version <i>n+1</i> once (DESIGN §4). The output is the committed version number, or nothing
 * when the run learnt nothing; the Parquet tables wait for it, so a failed commit leaves them uncommitted too.
 */
final class MergeMetadata<M> extends PTransform<PCollectionList<KV<BuildTool, M>>, PCollection<Long>> {
  private static final String ONE_COMMIT = "next version";

  private final InspectionEngine<M> engine;
  private final MetadataStore<M> store;
  private final long baseVersion;
  private final PCollectionView<Map<BuildTool, M>> base;

  MergeMetadata(InspectionEngine<M> engine, MetadataStore<M> store, long baseVersion,
      PCollectionView<Map<BuildTool, M>> base) {
    this.engine = engine;
    this.store = store;
    this.baseVersion = baseVersion;
    this.base = base;
  }

  @Override
  public PCollection<Long> expand(PCollectionList<KV<BuildTool, M>> learnt) {
    KvCoder<BuildTool, M> unitCoder = KvCoder.of(BuildTool.coder(), engine.metadataCoder());
    return learnt
        .apply("All learnt", Flatten.pCollections())
        .apply("Per build and tool", GroupByKey.create())
        .apply("Merge into the store's", ParDo.of(new MergeFn<>(engine, base)).withSideInputs(base))
        .setCoder(unitCoder)
        .apply("One commit", WithKeys.of(ONE_COMMIT))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), unitCoder))
        .apply("Gather", GroupByKey.create())
        .apply("Commit next version", ParDo.of(new CommitFn<>(store, baseVersion)))
        .setCoder(VarLongCoder.of());
  }

  /** Folds every unit learnt for one (build, tool) into the store's unit, oldest first. */
  static final class MergeFn<M> extends DoFn<KV<BuildTool, Iterable<M>>, KV<BuildTool, M>> {
    private final InspectionEngine<M> engine;
    private final PCollectionView<Map<BuildTool, M>> base;

    MergeFn(InspectionEngine<M> engine, PCollectionView<Map<BuildTool, M>> base) {
      this.engine = engine;
      this.base = base;
    }

    @ProcessElement
    public void process(ProcessContext context) throws EngineException {
      KV<BuildTool, Iterable<M>> units = context.element();
      M merged = context.sideInput(base).get(units.getKey());
      for (M unit : units.getValue()) {
        merged = merged == null ? unit : engine.merge(merged, unit);
      }
      context.output(KV.of(units.getKey(), merged));
    }
  }

  static final class CommitFn<M> extends DoFn<KV<String, Iterable<KV<BuildTool, M>>>, Long> {
    private final MetadataStore<M> store;
    private final long baseVersion;

    CommitFn(MetadataStore<M> store, long baseVersion) {
      this.store = store;
      this.baseVersion = baseVersion;
    }

    @ProcessElement
    public void process(@Element KV<String, Iterable<KV<BuildTool, M>>> all, OutputReceiver<Long> out)
        throws EngineException {
      Map<BuildTool, M> changed = new HashMap<>();
      all.getValue().forEach(unit -> changed.put(unit.getKey(), unit.getValue()));
      out.output(store.commit(baseVersion, changed));
      ScanCounters.counter(ScanCounters.METADATA_COMMITS).inc();
    }
  }
}
