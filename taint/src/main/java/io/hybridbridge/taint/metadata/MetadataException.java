package io.hybridbridge.taint.metadata;

/** Training metadata that cannot be read, written or combined, with the reason. */
public final class MetadataException extends Exception {
  public MetadataException(String message) {
    super(message);
  }

  public MetadataException(String message, Throwable cause) {
    super(message, cause);
  }
}
