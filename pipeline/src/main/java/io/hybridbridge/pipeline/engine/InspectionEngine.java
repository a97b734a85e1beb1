package io.hybridbridge.pipeline.engine;

import io.hybridbridge.schemas.MetadataRow;
import java.io.Serializable;
import java.util.List;
import org.apache.beam.sdk.coders.Coder;

/**
 * The seam between the scan and an execution engine: the slow path (emulator + taint, {@code taint/}) alone, or the
 * fast path with the slow path behind it ({@code fast-exec/}). The scan's stages only call this; they know nothing
 * of emulation. An engine is serializable configuration (reference store, budgets, ...), shipped to every worker;
 * its heavy state lives in the {@link SnapshotInspector}s it opens there.
 *
 * @param <M> what the engine learns for one {@link BuildTool} (kernel build, tool): its metadata unit, e.g. the
 *     slow path's {@code TrainingMetadata}
 */
public interface InspectionEngine<M> extends Serializable {
  /** Short name for logs and summaries. */
  String name();

  /** How the pipeline carries metadata units between workers (side inputs, shuffles). */
  Coder<M> metadataCoder();

  /**
   * A worker-side inspector, opened once per DoFn instance ({@code @Setup}) and closed in {@code @Teardown}; it may
   * keep reference machines and decode caches warm across snapshots. Not shared between threads.
   */
  SnapshotInspector<M> open() throws EngineException;

  /**
   * Kernel builds an inspector keeps ready at once on this worker (a fast path of each, say), if it bounds them. A
   * scan of more builds than that has each worker inspect a build's snapshots in a row, so that its inspectors do not
   * close and open one for nearly every snapshot; a scan of fewer spreads its snapshots one by one.
   */
  default int buildsKeptOpen() {
    return Integer.MAX_VALUE;
  }

  /**
   * The union of what two runs learnt for the same (build, tool), {@code older} first (the store's or an earlier
   * delta). Used to merge training, re-training and the store's current version into the next one.
   */
  M merge(M older, M newer) throws EngineException;

  /**
   * The rows of table {@code metadata} for one unit: one per entry, for analysts (which instructions are served
   * from where, trained on what). Runs on a worker, once per (build, tool) of a scan.
   *
   * @param kernelBuild the build's name, as the scan identified it
   * @param storeVersion the store version {@code unit} belongs to
   */
  List<MetadataRow> metadataRows(BuildTool key, String kernelBuild, long storeVersion, M unit)
      throws EngineException;
}
