package io.hybridbridge.emulator.snapshot;

/** A snapshot container that cannot be read as what it claims to be; {@link #reason()} says which way it fails. */
public class SnapshotFormatException extends Exception {
  /** What is wrong, for callers (and tests) that act on the kind of failure. */
  public enum Reason {
    /** The file ends before a structure its headers promise. */
    TRUNCATED,
    /** No known container format starts this way. */
    UNKNOWN_FORMAT,
    /** A known container for another architecture, word size or byte order. */
    WRONG_ARCHITECTURE,
    /** A known container in a variant this reader does not handle. */
    UNSUPPORTED,
    /** A header field points outside the file or holds an impossible value. */
    BAD_HEADER,
    /** Physical ranges overlap, wrap around or are otherwise absurd. */
    BAD_RANGES,
    /** A count or size beyond any real snapshot (refused before allocating for it). */
    TOO_LARGE,
    /** Notes that are malformed, or CPU state that is missing or unusable. */
    BAD_NOTES,
    /** The optional CPU-state sidecar of a raw image is unreadable. */
    BAD_SIDECAR,
  }

  private final Reason reason;

  public SnapshotFormatException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public SnapshotFormatException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
