package io.hybridbridge.emulator.cpu;

/** Blocks could not be translated: no compiler in this Java runtime, or a translation that does not compile. */
public final class TranslationException extends Exception {
  TranslationException(String message, Throwable cause) {
    super(message, cause);
  }
}
