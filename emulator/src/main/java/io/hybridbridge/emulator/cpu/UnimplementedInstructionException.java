package io.hybridbridge.emulator.cpu;

/** An instruction (or form of one) the executor does not implement; the run stops with its text and pc. */
final class UnimplementedInstructionException extends Exception {
  UnimplementedInstructionException(String message) {
    super(message, null, false, false);
  }
}
