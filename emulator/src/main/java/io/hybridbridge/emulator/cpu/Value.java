package io.hybridbridge.emulator.cpu;

/**
 * A value in flight inside the executor: its concrete bits (zero-extended from the operand size) and the
 * shadow the active {@link Shadow} domain attached to it. The executor reuses a few instances per CPU.
 */
final class Value {
  long bits;
  long shadow;

  Value set(long bits, long shadow) {
    this.bits = bits;
    this.shadow = shadow;
    return this;
  }
}
