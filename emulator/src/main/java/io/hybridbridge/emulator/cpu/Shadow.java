package io.hybridbridge.emulator.cpu;

/**
 * The pluggable value domain of the executor (DESIGN §9): every value the instruction semantics move or
 * compute carries, next to its concrete bits, a {@code long} "shadow" that this domain defines, and the
 * semantics report every dataflow step here. There is one definition of each instruction's semantics; the
 * fast path runs it with {@link #NONE} (all methods do nothing and return 0; the executor then makes no call at all),
 * the slow path plugs a taint domain in without copying any semantics.
 *
 * <p>Conventions: a shadow of 0 means "nothing known / clean", and is what immediates and constants carry.
 * Byte-granular domains typically use bit i for byte i of the value. Register shadows are per GPR; a write of
 * size 4 zero-extends (the domain must clear bytes 4..7), sizes 1 and 2 leave the other bytes alone,
 * {@code offset} 1 addresses ah/ch/dh/bh. Flags have one shadow.
 *
 * <p>Memory: {@link #load} and {@link #store} receive the access (pc, operand, address, size, space chosen by
 * the {@link AccessRouter}, and the shadow of the address computation), so a domain can treat an access
 * whose address depends on tainted data as it chooses.
 */
public interface Shadow {
  /** The concrete domain: no shadow at all. */
  Shadow NONE = new Shadow() {};

  default long register(int reg, int offset, int size) {
    return 0;
  }

  default void setRegister(int reg, int offset, int size, long shadow) {}

  default long load(MemoryAccess access) {
    return 0;
  }

  default void store(MemoryAccess access, long shadow) {}

  /** The shadow of {@code a op b} at operand size {@code size} (unary ops pass b = 0). */
  default long combine(ShadowOp op, int size, long a, long b) {
    return 0;
  }

  /** The shadow of a value of {@code fromSize} bytes widened to {@code toSize} (movzx, movsx, cdqe...). */
  default long extend(long shadow, int fromSize, int toSize, boolean signed) {
    return 0;
  }

  /** The shadow of bytes {@code [offset, offset+size)} of a value (e.g. the high half of a product). */
  default long slice(long shadow, int offset, int size) {
    return 0;
  }

  /** The flags were computed from a value with this shadow. */
  default void setFlags(long shadow) {}

  /** The shadow of a {@code size}-byte value computed from the flags (setcc, lahf, pushfq, adc's carry). */
  default long fromFlags(int size) {
    return 0;
  }
}
