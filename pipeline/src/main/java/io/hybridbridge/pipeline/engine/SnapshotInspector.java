package io.hybridbridge.pipeline.engine;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.schemas.SnapshotRef;

/**
 * Runs one inspection tool on one identified snapshot: the one call every inspection stage of the scan makes
 * (fast execution, training, re-training).
 */
public interface SnapshotInspector<M> extends AutoCloseable {
  /**
   * Runs {@code tool} on {@code snapshot} (opened lazily from its path; its reference is
   * {@link SnapshotRef#getReferenceId()}).
   *
   * <ul>
   *   <li>When {@code metadata} holds the unit of (snapshot build-id, tool), the engine may take its fast path:
   *       {@link InspectionOutcome#fast} with the rows, or {@link InspectionOutcome#fallback} when it meets
   *       something the metadata does not cover (the scan then re-runs it through the re-training branch).
   *   <li>Otherwise (training, re-training, or an engine with a slow path only) it runs its slow path:
   *       {@link InspectionOutcome#slow} with the rows and what it learnt.
   * </ul>
   *
   * A corrupt snapshot, a fault, an exhausted budget or a tool that cannot parse the kernel's answer is an
   * {@link InspectionOutcome#failed} outcome with a specific reason, never an exception: one bad snapshot must not
   * fail the job. (The scan still turns an unexpected exception into a FAILED status row, as a bug.)
   */
  InspectionOutcome<M> inspect(SnapshotRef snapshot, InspectionTool tool, MetadataView<M> metadata);

  /**
   * {@code snapshot} for several tools in a row. By default each call is an {@link #inspect} of its own; an engine
   * whose opening of a snapshot costs something overrides this to open it once.
   */
  default SnapshotSession<M> session(SnapshotRef snapshot) {
    return (tool, metadata) -> inspect(snapshot, tool, metadata);
  }

  @Override
  void close();

  /** Who the rows of {@code snapshot} are about (every row names its snapshot, VM and kernel build). */
  static RowContext rowContext(SnapshotRef snapshot) {
    return new RowContext(snapshot.getTarget().getId(), snapshot.getTarget().getVmId(), snapshot.getKernelBuild());
  }
}
