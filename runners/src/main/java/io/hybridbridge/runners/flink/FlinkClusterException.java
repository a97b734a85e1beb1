package io.hybridbridge.runners.flink;

/** The local Flink cluster could not be started, inspected or stopped; the message says why and what to do. */
public final class FlinkClusterException extends Exception {
  public FlinkClusterException(String message) {
    super(message);
  }

  public FlinkClusterException(String message, Throwable cause) {
    super(message, cause);
  }
}
