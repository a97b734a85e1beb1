package io.hybridbridge.emulator.tools;

/** An inspection tool could not produce its rows: the kernel's answer was malformed or a system call failed. */
public class ToolException extends Exception {
  public ToolException(String message) {
    super(message);
  }

  public ToolException(String message, Throwable cause) {
    super(message, cause);
  }
}
