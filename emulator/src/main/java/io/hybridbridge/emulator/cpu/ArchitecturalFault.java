package io.hybridbridge.emulator.cpu;

/** Thrown inside the executor to raise #UD, #GP, #DE or #BP; the run loop turns it into a {@link Fault}. */
final class ArchitecturalFault extends Exception {
  final int vector;
  final int errorCode;

  ArchitecturalFault(int vector, int errorCode, String message) {
    super(message, null, false, false);
    this.vector = vector;
    this.errorCode = errorCode;
  }
}
