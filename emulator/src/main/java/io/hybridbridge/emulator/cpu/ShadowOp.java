package io.hybridbridge.emulator.cpu;

/**
 * The kind of dataflow by which a shadow domain combines operand shadows. It says how result bits depend on
 * operand bits, which is all a byte-granular taint domain needs: bitwise ops keep byte positions, arithmetic
 * carries upward, multiplication/division and bit scans mix everything.
 */
public enum ShadowOp {
  /** Bytewise: result byte i depends on byte i of each operand. */
  AND, OR, XOR, NOT,
  /** Carrying: result byte i depends on bytes 0..i of the operands (add, sub, adc, sbb, neg, inc, dec, cmp). */
  ADD, SUB, NEG,
  /** Every result byte depends on every operand byte. */
  MUL, DIV,
  /** Shifts and rotates (second operand: the count). */
  SHIFT_LEFT, SHIFT_RIGHT, ROTATE,
  /** Byte reversal: result byte i is operand byte size-1-i. */
  BSWAP,
  /** A count or index derived from all bits (bsf, bsr, tzcnt, lzcnt, popcnt, bt's bit). */
  BIT_SCAN,
  /** Effective-address computation (base + index * scale + displacement). */
  ADDRESS,
  /** Conditional choice between two values under the flags (cmov: a = old destination, b = source). */
  SELECT,
  /** Two values glued into one (e.g. a shld/shrd shift of a:b, or rdx:rax halves). */
  CONCAT
}
