package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.decode.Instruction;
import io.hybridbridge.emulator.decode.MemoryRole;

/**
 * One memory access the executor is about to make (to {@link AccessRouter}) or has made (to {@link Shadow}).
 * A single mutable instance per CPU is reused: read it during the callback, do not keep it.
 */
public final class MemoryAccess {
  /** Operand indices of implicit accesses (explicit operands are numbered from 0 as decoded). */
  public static final int STACK = -1, STRING_DESTINATION = -2, STRING_SOURCE = -3, SYSTEM = -4;

  long pc;
  Instruction instruction;
  int operand;
  long address;
  int size;
  MemoryRole role;
  long addressShadow;
  int space;

  /** The pc of the instruction making the access. */
  public long pc() {
    return pc;
  }

  /** The decoded instruction making the access (a router needs no lookup by pc). */
  public Instruction instruction() {
    return instruction;
  }

  /**
   * Which access of the instruction this is: the index of its explicit memory operand, or {@link #STACK},
   * {@link #STRING_DESTINATION} ([rdi]), {@link #STRING_SOURCE} ([rsi]), {@link #SYSTEM} (iretq frames,
   * fxsave areas, descriptor reads).
   */
  public int operand() {
    return operand;
  }

  /** The linear (virtual) address: segment base included. */
  public long address() {
    return address;
  }

  /** Bytes accessed (up to 8; a 16-byte cmpxchg16b access is reported as two 8-byte halves). */
  public int size() {
    return size;
  }

  public MemoryRole role() {
    return role;
  }

  /** The shadow of the registers the address was computed from (0 for implicit accesses or no shadow). */
  public long addressShadow() {
    return addressShadow;
  }

  /** The address space serving the access (0 = local), as the router chose. */
  public int space() {
    return space;
  }

  @Override
  public String toString() {
    return "%s pc=0x%x op=%d addr=0x%x size=%d space=%d".formatted(role, pc, operand, address, size, space);
  }
}
