package io.hybridbridge.pipeline;

import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.EngineException;
import io.hybridbridge.pipeline.engine.InspectionEngine;
import io.hybridbridge.schemas.MetadataRow;
import io.hybridbridge.schemas.SnapshotRef;
import java.util.List;
import java.util.Map;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Distinct;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionView;

/**
 * Table {@code metadata}: for every (build, tool) of the scan, the entries of the metadata it ran with, as of the
 * store version the run committed (or, when it learnt nothing, the version it read), one row per entry through
 * {@link InspectionEngine#metadataRows}. The input is units tagged with their version (the version read, and the
 * version committed); per (build, tool) the newest wins. Builds not in this scan and tools not scanned are left out.
 */
final class MetadataTable<M>
    extends PTransform<PCollectionList<KV<BuildTool, KV<Long, M>>>, PCollection<MetadataRow>> {
  private final InspectionEngine<M> engine;
  private final List<String> tools;
  private final PCollectionView<Map<String, String>> builds;

  /** @param builds the scan's builds: build-id to kernel build name ({@link #builds}) */
  MetadataTable(InspectionEngine<M> engine, List<String> tools, PCollectionView<Map<String, String>> builds) {
    this.engine = engine;
    this.tools = List.copyOf(tools);
    this.builds = builds;
  }

  /**
   * The builds of the identified snapshots and {@code alsoBuilds} (build-id to name: those an earlier part of the
   * same scan ran), each once.
   */
  static PCollection<KV<String, String>> builds(PCollection<KV<String, SnapshotRef>> identified,
      Map<String, String> alsoBuilds) {
    KvCoder<String, String> coder = KvCoder.of(StringUtf8Coder.of(), StringUtf8Coder.of());
    PCollection<KV<String, String>> earlier = identified.getPipeline()
        .apply("Builds scanned before", Create.of(alsoBuilds).withCoder(coder));
    return PCollectionList.of(identified
            .apply("Build names", ParDo.of(new BuildNameFn()))
            .setCoder(coder))
        .and(earlier)
        .apply("All builds", Flatten.pCollections())
        .apply("Distinct builds", Distinct.create());
  }

  @Override
  public PCollection<MetadataRow> expand(PCollectionList<KV<BuildTool, KV<Long, M>>> versionedUnits) {
    return versionedUnits
        .apply("All versions", Flatten.pCollections())
        .apply("Per build and tool", GroupByKey.create())
        .apply("Entries as rows", ParDo.of(new RowsFn<>(engine, tools, builds)).withSideInputs(builds))
        .setCoder(RecordCoder.of(MetadataRow.class));
  }

  static final class BuildNameFn extends DoFn<KV<String, SnapshotRef>, KV<String, String>> {
    @ProcessElement
    public void process(@Element KV<String, SnapshotRef> identified, OutputReceiver<KV<String, String>> out) {
      out.output(KV.of(identified.getValue().getBuildId(), identified.getValue().getKernelBuild()));
    }
  }

  /** The newest unit of one (build, tool), as rows, if the scan ran that build and tool. */
  static final class RowsFn<M> extends DoFn<KV<BuildTool, Iterable<KV<Long, M>>>, MetadataRow> {
    private final InspectionEngine<M> engine;
    private final List<String> tools;
    private final PCollectionView<Map<String, String>> builds;

    RowsFn(InspectionEngine<M> engine, List<String> tools, PCollectionView<Map<String, String>> builds) {
      this.engine = engine;
      this.tools = tools;
      this.builds = builds;
    }

    @ProcessElement
    public void process(@Element KV<BuildTool, Iterable<KV<Long, M>>> versions, OutputReceiver<MetadataRow> out,
        ProcessContext context) throws EngineException {
      BuildTool key = versions.getKey();
      String kernelBuild = context.sideInput(builds).get(key.buildId());
      if (kernelBuild == null || !tools.contains(key.tool())) {
        return;
      }
      KV<Long, M> newest = null;
      for (KV<Long, M> version : versions.getValue()) {
        newest = newest == null || version.getKey() > newest.getKey() ? version : newest;
      }
      engine.metadataRows(key, kernelBuild, newest.getKey(), newest.getValue()).forEach(out::output);
    }
  }
}
