package io.hybridbridge.runners;

/**
 * What a job or the local cluster needs could not be prepared: a build (the shaded jar, the Flink distribution's
 * class path) failed, or the cluster to submit to does not answer or runs another Flink version.
 */
public final class SetupException extends Exception {
  public SetupException(String message) {
    super(message);
  }

  public SetupException(String message, Throwable cause) {
    super(message, cause);
  }
}
