package io.hybridbridge.pipeline;

/** The snapshots a scan is asked for cannot be listed: a missing or malformed manifest, a glob matching nothing. */
public class ScanInputException extends Exception {
  public ScanInputException(String message) {
    super(message);
  }

  public ScanInputException(String message, Throwable cause) {
    super(message, cause);
  }
}
