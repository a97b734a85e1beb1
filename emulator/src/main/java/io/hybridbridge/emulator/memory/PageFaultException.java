package io.hybridbridge.emulator.memory;

/** A page-table walk that ended in a non-present entry or a permission violation, as the CPU would fault. */
public class PageFaultException extends MemoryAccessException {
  /** Error-code bit: the fault was a protection violation (clear: the page was not present). */
  public static final int PRESENT = 1;
  /** Error-code bit: the access was a write. */
  public static final int WRITE = 1 << 1;
  /** Error-code bit: the access was made in user mode. */
  public static final int USER = 1 << 2;
  /** Error-code bit: a paging entry had a reserved bit set. */
  public static final int RESERVED = 1 << 3;
  /** Error-code bit: the access was an instruction fetch. */
  public static final int INSTRUCTION = 1 << 4;

  /** Why the walk stopped; the last two are faults of the image rather than of the guest's own tables. */
  public enum Kind {
    NOT_PRESENT,
    PROTECTION,
    RESERVED_BIT,
    /** The address is not canonical (the CPU would raise #GP rather than #PF). */
    NON_CANONICAL,
    /** A paging entry points at a table the image does not hold (absurd or corrupted entry). */
    TABLE_OUTSIDE_IMAGE,
  }

  /** Architectural page-fault error code bits (P, W/R, U/S, RSVD, I/D). */
  private final int errorCode;
  private final Kind kind;

  public PageFaultException(String message, long virtualAddress, int errorCode) {
    this(message, virtualAddress, errorCode,
        (errorCode & RESERVED) != 0 ? Kind.RESERVED_BIT : (errorCode & PRESENT) != 0 ? Kind.PROTECTION : Kind.NOT_PRESENT);
  }

  public PageFaultException(String message, long virtualAddress, int errorCode, Kind kind) {
    super(message, virtualAddress);
    this.errorCode = errorCode;
    this.kind = kind;
  }

  public int errorCode() {
    return errorCode;
  }

  public Kind kind() {
    return kind;
  }
}
