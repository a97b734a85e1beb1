package io.hybridbridge.taint.slowpath;

/** The slow path cannot inspect a snapshot, or could not finish: why, in words a user can act on. */
public final class SlowPathException extends Exception {
  /** What went wrong. */
  public enum Reason {
    /** The reference cannot be opened or made runnable. */
    REFERENCE,
    /** The snapshot cannot be read, or no kernel can be located in it. */
    SNAPSHOT,
    /** The snapshot's kernel is not the reference's build (banner and build-id must be the same). */
    DIFFERENT_BUILD,
    /** The tool's system calls failed on this snapshot (the message names the call, the pc, the function). */
    TOOL
  }

  private final Reason reason;

  public SlowPathException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public SlowPathException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
