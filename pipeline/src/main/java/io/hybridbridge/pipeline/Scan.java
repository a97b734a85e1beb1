package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.EngineException;
import io.hybridbridge.pipeline.engine.InspectionEngine;
import io.hybridbridge.pipeline.engine.MetadataStore;
import io.hybridbridge.schemas.FallbackRow;
import io.hybridbridge.schemas.MetadataRow;
import io.hybridbridge.schemas.ScanTarget;
import io.hybridbridge.schemas.SnapshotRef;
import io.hybridbridge.schemas.SnapshotRow;
import io.hybridbridge.schemas.StatusRow;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TupleTag;

/**
 * A whole scan (DESIGN §4), from the listed snapshots to committed Parquet tables:
 * <pre>
 * entries ─► SameFile: first entry of each file ─► targets
 * targets ─► Identify ─► KV&lt;build-id, SnapshotRef&gt; ─────────────────────────────► snapshots
 *               └─► dead letters ─────────────────────────────────────────────────► status
 * the scan's builds ─► their units of store version n (read on a worker) + Train (slow path on samples, for
 *     (build, tool) without metadata) ─► side input
 * Inspect per snapshot, all its tools ─► rows, status ─────────────────────────────► tool tables, status
 *     └─► fallbacks ─► Retrain per (build, tool) ─► rows, status ──────────────────► fallbacks, tool tables, status
 * learnt (Train, slow runs, Retrain) ─► MergeMetadata ─► store version n+1 ─► (tables commit after it)
 * the scan's builds in version n+1 (or n if nothing was learnt) ─► MetadataTable: entries of its tools ─► metadata
 * every table about snapshots ─► SameFile: rows copied to a file's other entries ─► written
 * </pre>
 * Without an engine ({@link #identifyOnly}) the scan stops after identification: tables {@code snapshots} and
 * {@code status}. The output is the list of committed table directories.
 */
public final class Scan<M> extends PTransform<PCollection<ScanTarget>, PCollection<String>> {
  public static final String SNAPSHOTS = "snapshots";
  public static final String STATUS = "status";
  public static final String FALLBACKS = "fallbacks";
  public static final String METADATA = "metadata";

  /**
   * The engine a scan runs, its metadata store, and the store's version the scan starts from.
   *
   * @param base the index of the store's version read when the job is built: the job reads the units of the builds
   *     it scans from that version, on its workers
   */
  public record Engine<M>(InspectionEngine<M> engine, MetadataStore<M> store, MetadataStore.Index base) {
    /** The engine with its store, at the store's newest version. */
    public static <M> Engine<M> open(InspectionEngine<M> engine, MetadataStore<M> store) throws EngineException {
      return new Engine<>(engine, store, store.index());
    }
  }

  private final String references;
  private final ParquetTables output;
  private final List<InspectionTool> tools;
  private final Engine<M> engine;
  private final int trainingSamples;
  private final Map<String, String> earlierBuilds;

  private Scan(Path references, ParquetTables output, List<InspectionTool> tools, Engine<M> engine,
      int trainingSamples, Map<String, String> earlierBuilds) {
    this.references = references.toAbsolutePath().normalize().toString();
    this.output = output;
    this.tools = List.copyOf(tools);
    this.engine = engine;
    this.trainingSamples = trainingSamples;
    this.earlierBuilds = Map.copyOf(earlierBuilds);
  }

  /** Identification only: which build each snapshot runs and which cannot be inspected, and why. */
  public static Scan<Void> identifyOnly(Path references, ParquetTables output) {
    return new Scan<>(references, output, List.of(), null, 1, Map.of());
  }

  /** The full scan of {@code tools} with {@code engine}. */
  public static <M> Scan<M> inspecting(Path references, List<InspectionTool> tools, Engine<M> engine,
      ParquetTables output) {
    if (tools.isEmpty()) {
      throw new IllegalArgumentException("a scan with an engine needs at least one tool");
    }
    return new Scan<>(references, output, tools, engine, 1, Map.of());
  }

  /** Snapshots per build that training runs the slow path on (default 1). */
  public Scan<M> withTrainingSamples(int samples) {
    return new Scan<>(Path.of(references), output, tools, engine, samples, earlierBuilds);
  }

  /**
   * The metadata table also has the entries of {@code builds} (build-id to name): the builds an earlier part of the
   * same scan ran, whose metadata rows this part's table replaces (a scan in several jobs, {@link
   * ParquetTables#appending}).
   */
  public Scan<M> withEarlierBuilds(Map<String, String> builds) {
    return new Scan<>(Path.of(references), output, tools, engine, trainingSamples, builds);
  }

  @Override
  public PCollection<String> expand(PCollection<ScanTarget> entries) {
    PCollectionTuple once = entries.apply("One inspection per file", SameFile.once());
    PCollection<ScanTarget> targets = once.get(SameFile.FILES);
    PCollectionView<Map<String, Iterable<ScanTarget>>> copies = SameFile.copiesView(once);
    PCollectionTuple identify = targets.apply("Identify", Identify.against(Path.of(references)));
    PCollection<KV<String, SnapshotRef>> identified = identify.get(Identify.IDENTIFIED);
    PCollection<SnapshotRow> snapshots = identified
        .apply("Snapshot rows", ParDo.of(new SnapshotRowFn()))
        .setCoder(RecordCoder.of(SnapshotRow.class));
    if (engine == null) {
      return copied(PCollectionTuple.of(new TupleTag<>(SNAPSHOTS), snapshots)
          .and(new TupleTag<>(STATUS), identify.get(Identify.FAILED)), copies)
          .apply("Write tables", output);
    }

    InspectionEngine<M> inspection = engine.engine();
    InspectionOutputs<M> outputs = new InspectionOutputs<>(tools);
    PCollection<KV<String, String>> builds = MetadataTable.builds(identified, earlierBuilds);
    PCollectionView<Map<String, String>> buildNames = builds.apply("Builds as map", View.asMap());
    PCollection<KV<BuildTool, KV<Long, M>>> read = builds
        .apply("Store version " + engine.base().number(), ParDo.of(new ReadUnitsFn<>(engine.store(), engine.base(),
            outputs.toolNames())))
        .setCoder(MergeMetadata.versionedCoder(inspection));

    PCollection<KV<BuildTool, M>> trained = identified.apply("Train",
        new Train<>(inspection, outputs.toolNames(), engine.base().units(), trainingSamples));
    PCollectionView<Map<BuildTool, M>> runMetadata = PCollectionList.of(read
            .apply("Units read", ParDo.of(new DropVersionFn<>()))
            .setCoder(KvCoder.of(BuildTool.coder(), inspection.metadataCoder())))
        .and(trained)
        .apply("Store and trained", Flatten.pCollections())
        .apply("Metadata as map", View.asMap());
    PCollectionTuple inspected = identified.apply("Inspect", new Inspect<>(inspection, outputs, runMetadata));
    PCollectionTuple retrained = inspected.get(outputs.retry).apply("Retrain", new Retrain<>(inspection, outputs));
    PCollection<KV<BuildTool, KV<Long, M>>> committed = PCollectionList.of(trained)
        .and(inspected.get(outputs.learnt)).and(retrained.get(outputs.learnt))
        .apply("Merge metadata", new MergeMetadata<>(inspection, engine.store(), buildNames));
    PCollection<MetadataRow> metadataRows = PCollectionList.of(read).and(committed).apply("Metadata rows",
        new MetadataTable<>(inspection, outputs.toolNames(), buildNames));

    PCollection<StatusRow> status = PCollectionList.of(identify.get(Identify.FAILED))
        .and(inspected.get(outputs.status)).and(retrained.get(outputs.status))
        .apply("All status", Flatten.pCollections());
    PCollection<FallbackRow> fallbacks = inspected.get(outputs.fallbacks);
    PCollectionTuple tables = PCollectionTuple.of(new TupleTag<>(SNAPSHOTS), snapshots)
        .and(new TupleTag<>(STATUS), status)
        .and(new TupleTag<>(FALLBACKS), fallbacks)
        .and(new TupleTag<>(METADATA), metadataRows);
    for (Map.Entry<String, TupleTag<SpecificRecord>> table : outputs.tables().entrySet()) {
      tables = tables.and(new TupleTag<>(table.getKey()), PCollectionList.of(inspected.get(table.getValue()))
          .and(retrained.get(table.getValue()))
          .apply("All " + table.getKey(), Flatten.pCollections()));
    }
    return copied(tables, copies).apply("Write tables", output.waitingFor(committed));
  }

  /** Every table with the rows of a file's first entry copied to its other entries ({@link SameFile}). */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private static PCollectionTuple copied(PCollectionTuple tables,
      PCollectionView<Map<String, Iterable<ScanTarget>>> copies) {
    PCollectionTuple result = PCollectionTuple.empty(tables.getPipeline());
    for (Map.Entry<TupleTag<?>, PCollection<?>> table : tables.getAll().entrySet()) {
      PCollection rows = table.getValue();
      PCollection copiedRows = (PCollection) rows.apply("Copies of " + table.getKey().getId(),
          SameFile.copiedRows(copies));
      result = result.and((TupleTag) table.getKey(), copiedRows.setCoder(rows.getCoder()));
    }
    return result;
  }

  /**
   * The units of a scanned build (build-id to name) that the store's version has for the scan's tools, tagged with
   * that version's number. Read on a worker, only for the builds the scan identified (and those of earlier jobs of
   * the same scan, for its metadata table): a store that kept many builds is not loaded whole, nor carried in the job.
   */
  static final class ReadUnitsFn<M> extends DoFn<KV<String, String>, KV<BuildTool, KV<Long, M>>> {
    private final MetadataStore<M> store;
    private final long version;
    private final Set<BuildTool> units;

    ReadUnitsFn(MetadataStore<M> store, MetadataStore.Index version, List<String> tools) {
      this.store = store;
      this.version = version.number();
      this.units = version.units().stream().filter(unit -> tools.contains(unit.tool()))
          .collect(Collectors.toUnmodifiableSet());
    }

    @ProcessElement
    public void process(@Element KV<String, String> build, OutputReceiver<KV<BuildTool, KV<Long, M>>> out)
        throws EngineException {
      if (units.stream().noneMatch(unit -> unit.buildId().equals(build.getKey()))) {
        return; // the store has nothing for it: training learns it
      }
      store.units(version, Set.of(build.getKey())).forEach((unit, metadata) -> {
        if (units.contains(unit)) {
          out.output(KV.of(unit, KV.of(version, metadata)));
        }
      });
    }
  }

  /** A unit without the number of its version. */
  static final class DropVersionFn<M> extends DoFn<KV<BuildTool, KV<Long, M>>, KV<BuildTool, M>> {
    @ProcessElement
    public void process(@Element KV<BuildTool, KV<Long, M>> unit, OutputReceiver<KV<BuildTool, M>> out) {
      out.output(KV.of(unit.getKey(), unit.getValue().getValue()));
    }
  }

  /** The {@code snapshots} row of an identified snapshot. */
  static final class SnapshotRowFn extends DoFn<KV<String, SnapshotRef>, SnapshotRow> {
    @ProcessElement
    public void process(@Element KV<String, SnapshotRef> identified, OutputReceiver<SnapshotRow> out) {
      SnapshotRef snapshot = identified.getValue();
      ScanTarget target = snapshot.getTarget();
      out.output(SnapshotRow.newBuilder()
          .setSnapshotId(target.getId()).setVmId(target.getVmId()).setKernelBuild(snapshot.getKernelBuild())
          .setBuildId(snapshot.getBuildId()).setBanner(snapshot.getBanner()).setPath(target.getPath())
          .setFormat(snapshot.getFormat()).setSizeBytes(snapshot.getSizeBytes())
          .setReferenceId(snapshot.getReferenceId()).setLabels(new LinkedHashMap<>(target.getLabels()))
          .build());
    }
  }
}
