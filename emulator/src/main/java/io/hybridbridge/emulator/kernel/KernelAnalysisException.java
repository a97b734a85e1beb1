package io.hybridbridge.emulator.kernel;

/** A snapshot whose kernel cannot be located or identified (no page-table root, no image, no banner, …). */
public class KernelAnalysisException extends Exception {
  public KernelAnalysisException(String message) {
    super(message);
  }

  public KernelAnalysisException(String message, Throwable cause) {
    super(message, cause);
  }
}
