package io.hybridbridge.pipeline;

import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.EngineException;
import io.hybridbridge.pipeline.engine.InspectionEngine;
import io.hybridbridge.pipeline.engine.InspectionOutcome;
import io.hybridbridge.pipeline.engine.MetadataView;
import io.hybridbridge.pipeline.engine.SnapshotSession;
import io.hybridbridge.schemas.SnapshotRef;
import java.io.Serializable;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.Top;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training branch (DESIGN §4): for every kernel build in the scan and every tool whose (build, tool) has no
 * metadata in the store, the slow path runs on a sample of that build's snapshots (the ones with the smallest ids,
 * so the same scan trains on the same snapshots) and what it learnt becomes that (build, tool)'s metadata for the
 * fast execution of this run. A training run that fails is logged and counted; the build's snapshots then take
 * the slow path in fast execution, so nothing is lost.
 */
final class Train<M> extends PTransform<PCollection<KV<String, SnapshotRef>>, PCollection<KV<BuildTool, M>>> {
  private final InspectionEngine<M> engine;
  private final List<String> tools;
  private final Set<BuildTool> known;
  private final int samples;

  /**
   * @param known the (build, tool) pairs the store already has metadata for
   * @param samples snapshots per build to train on
   */
  Train(InspectionEngine<M> engine, List<String> tools, Set<BuildTool> known, int samples) {
    if (samples < 1) {
      throw new IllegalArgumentException("training needs at least one sample per build: " + samples);
    }
    this.engine = engine;
    this.tools = List.copyOf(tools);
    this.known = Set.copyOf(known);
    this.samples = samples;
  }

  @Override
  public PCollection<KV<BuildTool, M>> expand(PCollection<KV<String, SnapshotRef>> identified) {
    return identified
        .apply("Samples per build", Top.perKey(samples, new SmallestIdFirst()))
        .apply("Slow path on samples", ParDo.of(new TrainFn<>(engine, tools, known)))
        .setCoder(KvCoder.of(BuildTool.coder(), engine.metadataCoder()));
  }

  /** Orders snapshots so that {@link Top} keeps the smallest ids. */
  static final class SmallestIdFirst implements Comparator<SnapshotRef>, Serializable {
    @Override
    public int compare(SnapshotRef a, SnapshotRef b) {
      return b.getTarget().getId().compareTo(a.getTarget().getId());
    }
  }

  static final class TrainFn<M> extends EngineFn<KV<String, List<SnapshotRef>>, KV<BuildTool, M>, M> {
    private static final Logger LOG = LoggerFactory.getLogger(TrainFn.class);
    private final List<String> tools;
    private final Set<BuildTool> known;

    TrainFn(InspectionEngine<M> engine, List<String> tools, Set<BuildTool> known) {
      super(engine);
      this.tools = tools;
      this.known = known;
    }

    /** Each sample is opened once for every tool it trains. */
    @ProcessElement
    public void process(@Element KV<String, List<SnapshotRef>> build, OutputReceiver<KV<BuildTool, M>> out)
        throws EngineException {
      List<String> untrained = tools.stream().filter(name -> !known.contains(new BuildTool(build.getKey(), name)))
          .toList();
      Map<String, M> learnt = new HashMap<>();
      for (SnapshotRef sample : build.getValue()) {
        try (SnapshotSession<M> session = session(sample)) {
          for (String name : untrained) {
            InspectionOutcome<M> outcome = inspect(session, sample, InspectionOutputs.tool(name), MetadataView.none())
                .outcome();
            if (outcome.learnt().isPresent()) {
              M earlier = learnt.get(name);
              M unit = outcome.learnt().get();
              learnt.put(name, earlier == null ? unit : engine().merge(earlier, unit));
            } else {
              LOG.warn("training {}/{} on {} gave no metadata: {}", build.getKey(), name, sample.getTarget().getId(),
                  outcome);
              ScanCounters.counter(ScanCounters.TRAINING_FAILED).inc();
            }
          }
        }
      }
      for (String name : untrained) {
        if (learnt.containsKey(name)) {
          out.output(KV.of(new BuildTool(build.getKey(), name), learnt.get(name)));
          ScanCounters.counter(ScanCounters.TRAINED).inc();
        }
      }
    }
  }
}
