package io.hybridbridge.emulator.memory;

/** A page-table walk that ended in a non-present entry or a permission violation, as the CPU would fault. */
public class PageFaultException extends MemoryAccessException {
  /** Architectural page-fault error code bits (P, W/R, U/S, RSVD, I/D). */
  private final int errorCode;

  public PageFaultException(String message, long virtualAddress, int errorCode) {
    super(message, virtualAddress);
    this.errorCode = errorCode;
  }

  public int errorCode() {
    return errorCode;
  }
}
