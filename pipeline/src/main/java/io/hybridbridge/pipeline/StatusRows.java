package io.hybridbridge.pipeline;

import io.hybridbridge.schemas.ScanOutcome;
import io.hybridbridge.schemas.ScanTarget;
import io.hybridbridge.schemas.SnapshotRef;
import io.hybridbridge.schemas.StatusRow;

/** The rows of the {@code status} table: how each snapshot and each (snapshot, tool) ended. */
final class StatusRows {
  /** failure_kind of a snapshot whose file cannot be read at all. */
  static final String UNREADABLE = "UNREADABLE";
  /** failure_kind of a snapshot whose kernel cannot be located or identified. */
  static final String KERNEL_NOT_FOUND = "KERNEL_NOT_FOUND";
  /** failure_kind of a snapshot of a build without a trusted reference. */
  static final String NO_REFERENCE = "NO_REFERENCE";
  /** failure_kind of an inspection the engine reported as failed. */
  static final String INSPECTION_FAILED = "INSPECTION_FAILED";
  /** failure_kind of an unexpected exception: a bug, reported with its class, never allowed to stop the job. */
  static final String INTERNAL = "INTERNAL";

  private StatusRows() {}

  /** A snapshot that failed before any tool ran; kernel_build is known when only the reference is missing. */
  static StatusRow beforeTools(ScanTarget target, String kernelBuild, String buildId, String failureKind,
      String reason, long wallMillis) {
    return StatusRow.newBuilder()
        .setSnapshotId(target.getId()).setVmId(target.getVmId()).setKernelBuild(kernelBuild).setBuildId(buildId)
        .setPath(target.getPath()).setTool(null).setOutcome(ScanOutcome.FAILED)
        .setFailureKind(failureKind).setReason(reason)
        .setWallMs(wallMillis).setInstructions(0).setRedirectedInstructions(0).setFallbacks(0)
        .build();
  }

  /** The final outcome of one (snapshot, tool); {@code failureKind} and {@code reason} are null unless FAILED. */
  static StatusRow ofTool(SnapshotRef snapshot, String tool, ScanOutcome outcome, String failureKind, String reason,
      Effort effort) {
    ScanTarget target = snapshot.getTarget();
    return StatusRow.newBuilder()
        .setSnapshotId(target.getId()).setVmId(target.getVmId()).setKernelBuild(snapshot.getKernelBuild())
        .setBuildId(snapshot.getBuildId()).setPath(target.getPath()).setTool(tool).setOutcome(outcome)
        .setFailureKind(failureKind).setReason(reason)
        .setWallMs(effort.wallMillis()).setInstructions(effort.instructions())
        .setRedirectedInstructions(effort.redirectedInstructions()).setFallbacks(effort.fallbacks())
        .build();
  }

  /** What one or more attempts at a (snapshot, tool) cost: the fast run and, after a fallback, the slow one. */
  record Effort(long wallMillis, long instructions, long redirectedInstructions, int fallbacks)
      implements java.io.Serializable {
    static final Effort NONE = new Effort(0, 0, 0, 0);

    Effort plus(Effort other) {
      return new Effort(wallMillis + other.wallMillis, instructions + other.instructions,
          redirectedInstructions + other.redirectedInstructions, fallbacks + other.fallbacks);
    }
  }
}
