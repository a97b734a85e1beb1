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
 * Merges what this run learnt (training, slow runs, re-training deltas) per (build, tool) and commits it to the
 * store once, as its next version (DESIGN §4). The output is every unit of the scan's builds in the committed
 * version, with its number, or nothing when the run learnt nothing; the Parquet tables wait for it, so a failed
 * commit leaves them uncommitted too.
 */
final class MergeMetadata<M>
    extends PTransform<PCollectionList<KV<BuildTool, M>>, PCollection<KV<BuildTool, KV<Long, M>>>> {
  private static final String ONE_COMMIT = "next version";

  private final InspectionEngine<M> engine;
  private final MetadataStore<M> store;
  private final PCollectionView<Map<String, String>> builds;

  /** @param builds the scan's builds (build-id to name), whose units of the committed version are the output */
  MergeMetadata(InspectionEngine<M> engine, MetadataStore<M> store, PCollectionView<Map<String, String>> builds) {
    this.engine = engine;
    this.store = store;
    this.builds = builds;
  }

  @Override
  public PCollection<KV<BuildTool, KV<Long, M>>> expand(PCollectionList<KV<BuildTool, M>> learnt) {
    KvCoder<BuildTool, M> unitCoder = KvCoder.of(BuildTool.coder(), engine.metadataCoder());
    return learnt
        .apply("All learnt", Flatten.pCollections())
        .apply("Per build and tool", GroupByKey.create())
        .apply("Merge", ParDo.of(new MergeFn<>(engine)))
        .setCoder(unitCoder)
        .apply("One commit", WithKeys.of(ONE_COMMIT))
        .setCoder(KvCoder.of(StringUtf8Coder.of(), unitCoder))
        .apply("Gather", GroupByKey.create())
        .apply("Commit next version", ParDo.of(new CommitFn<>(store, builds)).withSideInputs(builds))
        .setCoder(versionedCoder(engine));
  }

  /** The coder of a unit with the number of the store version it belongs to. */
  static <M> KvCoder<BuildTool, KV<Long, M>> versionedCoder(InspectionEngine<M> engine) {
    return KvCoder.of(BuildTool.coder(), KvCoder.of(VarLongCoder.of(), engine.metadataCoder()));
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

  static final class CommitFn<M> extends DoFn<KV<String, Iterable<KV<BuildTool, M>>>, KV<BuildTool, KV<Long, M>>> {
    private final MetadataStore<M> store;
    private final PCollectionView<Map<String, String>> builds;

    CommitFn(MetadataStore<M> store, PCollectionView<Map<String, String>> builds) {
      this.store = store;
      this.builds = builds;
    }

    @ProcessElement
    public void process(@Element KV<String, Iterable<KV<BuildTool, M>>> all,
        OutputReceiver<KV<BuildTool, KV<Long, M>>> out, ProcessContext context) throws EngineException {
      Map<BuildTool, M> learnt = new HashMap<>();
      all.getValue().forEach(unit -> learnt.put(unit.getKey(), unit.getValue()));
      long committed = store.commit(learnt).number();
      ScanCounters.counter(ScanCounters.METADATA_COMMITS).inc();
      // The scan's builds as the version holds them: another run's commit may have changed them too.
      store.units(committed, context.sideInput(builds).keySet())
          .forEach((key, unit) -> out.output(KV.of(key, KV.of(committed, unit))));
    }
  }
}
