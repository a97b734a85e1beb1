package io.hybridbridge.runners.bench;

/** A benchmark that cannot run or cannot read what it measured; the message says which and why. */
public final class BenchException extends Exception {
  BenchException(String message) {
    super(message);
  }

  BenchException(String message, Throwable cause) {
    super(message, cause);
  }
}
