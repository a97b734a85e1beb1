package io.hybridbridge.emulator.kernel;

/** A kallsyms text that cannot be a kernel's symbol table (garbage, truncated, too large, missing anchors). */
public class ProfileException extends Exception {
  public ProfileException(String message) {
    super(message);
  }

  public ProfileException(String message, Throwable cause) {
    super(message, cause);
  }
}
