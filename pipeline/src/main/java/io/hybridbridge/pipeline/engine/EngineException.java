package io.hybridbridge.pipeline.engine;

/** An engine cannot start, merge or store metadata (not: a snapshot that cannot be inspected, an outcome). */
public class EngineException extends Exception {
  public EngineException(String message) {
    super(message);
  }

  public EngineException(String message, Throwable cause) {
    super(message, cause);
  }
}
