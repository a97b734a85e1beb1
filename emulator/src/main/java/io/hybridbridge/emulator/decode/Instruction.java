package io.hybridbridge.emulator.decode;

import java.util.Arrays;

/**
 * One decoded x86-64 instruction in our own compact, immutable form. The executor reads only this, never
 * Capstone objects. Position-independent: nothing it executes depends on the address it was decoded at (only
 * {@link #text}, Capstone's rendering for messages, shows absolute branch targets of the first decoding).
 */
public final class Instruction {
  /** Prefix bits. */
  public static final byte LOCK = 1, REP = 2, REPNE = 4;

  public final Mnemonic mnemonic;
  /** Condition code 0..15 in x86 encoding order (o, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g). */
  public final byte condition;
  /** Length in bytes. */
  public final byte length;
  /** {@link #LOCK}, {@link #REP} (rep/repe), {@link #REPNE} bits. */
  public final byte prefixes;
  /** Operand size in bytes: of the first operand, or the element size of a string instruction. */
  public final byte operandSize;
  /** 64-bit operand size prefix (REX.W) present: selects sysretq/iretq over their 32-bit forms. */
  public final boolean rexW;
  public final Operand op0, op1, op2;
  public final int operandCount;
  /** The explicit memory operand (at most one), or null. */
  public final Operand memory;
  /** Index of {@link #memory} among the operands, or -1. */
  public final byte memoryIndex;
  /** What the instruction does with {@link #memory}. */
  public final MemoryRole memoryRole;
  /**
   * {@code xor r, r} or {@code sub r, r} on one register: the result (zero) does not depend on the register,
   * which a shadow domain must know (taint is cleared, not propagated).
   */
  public final boolean zeroIdiom;
  /** Capstone's text ("lock cmpxchg qword ptr [rdi], rcx"), for messages. */
  public final String text;
  private final byte[] bytes;

  public Instruction(Mnemonic mnemonic, int condition, int length, int prefixes, int operandSize, boolean rexW,
      Operand[] operands, String text, byte[] bytes) {
    if (operands.length > 3) {
      throw new IllegalArgumentException("at most 3 operands: " + text);
    }
    this.mnemonic = mnemonic;
    this.condition = (byte) condition;
    this.length = (byte) length;
    this.prefixes = (byte) prefixes;
    this.operandSize = (byte) operandSize;
    this.rexW = rexW;
    this.operandCount = operands.length;
    this.op0 = operands.length > 0 ? operands[0] : null;
    this.op1 = operands.length > 1 ? operands[1] : null;
    this.op2 = operands.length > 2 ? operands[2] : null;
    int mi = -1;
    for (int i = 0; i < operands.length; i++) {
      if (operands[i].isMemory()) {
        mi = i;
      }
    }
    this.memoryIndex = (byte) mi;
    this.memory = mi < 0 ? null : operands[mi];
    this.memoryRole = mi < 0 ? null : mnemonic.memoryRole(mi);
    this.zeroIdiom = (mnemonic == Mnemonic.XOR || mnemonic == Mnemonic.SUB) && operands.length == 2
        && operands[0].kind == Operand.REG && operands[0].equals(operands[1]);
    this.text = text;
    this.bytes = bytes.clone();
  }

  public Operand operand(int i) {
    return i == 0 ? op0 : i == 1 ? op1 : op2;
  }

  public Operand[] operands() {
    return Arrays.copyOf(new Operand[] {op0, op1, op2}, operandCount);
  }

  public boolean hasPrefix(byte prefix) {
    return (prefixes & prefix) != 0;
  }

  /** The encoded bytes. */
  public byte[] bytes() {
    return bytes.clone();
  }

  @Override
  public String toString() {
    return text;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Instruction i && mnemonic == i.mnemonic && condition == i.condition
        && length == i.length && prefixes == i.prefixes && operandSize == i.operandSize && rexW == i.rexW
        && Arrays.equals(operands(), i.operands()) && Arrays.equals(bytes, i.bytes);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(bytes);
  }
}
