package io.hybridbridge.datasets;

/** A dataset build failed for a reason the user can act on; the message says what happened and what to do. */
public final class DatasetException extends Exception {
  public DatasetException(String message) {
    super(message);
  }

  public DatasetException(String message, Throwable cause) {
    super(message, cause);
  }
}
