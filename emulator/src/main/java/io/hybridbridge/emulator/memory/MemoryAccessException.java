package io.hybridbridge.emulator.memory;

/** A guest memory access that cannot be served: a hole in the image, an unreadable page, or a translation fault. */
public class MemoryAccessException extends Exception {
  private final long address;

  public MemoryAccessException(String message, long address) {
    super(message);
    this.address = address;
  }

  public MemoryAccessException(String message, long address, Throwable cause) {
    super(message, cause);
    this.address = address;
  }

  /** The physical or virtual address that could not be served (which one is said by the message). */
  public long address() {
    return address;
  }
}
