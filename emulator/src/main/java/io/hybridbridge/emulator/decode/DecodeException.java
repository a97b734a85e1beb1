package io.hybridbridge.emulator.decode;

/** Bytes that do not decode to an x86-64 instruction, or a decoder (Capstone) that cannot be used. */
public class DecodeException extends Exception {
  public DecodeException(String message) {
    super(message);
  }

  public DecodeException(String message, Throwable cause) {
    super(message, cause);
  }
}
