package io.hybridbridge.emulator.decode;

import static io.hybridbridge.emulator.decode.MemoryRole.ADDRESS_ONLY;
import static io.hybridbridge.emulator.decode.MemoryRole.READ;
import static io.hybridbridge.emulator.decode.MemoryRole.READ_WRITE;
import static io.hybridbridge.emulator.decode.MemoryRole.WRITE;

/**
 * The instruction classes our executor implements. Condition-code families (jcc, setcc, cmovcc) are one
 * constant each, the condition being carried by {@link Instruction#condition}; string instructions carry
 * their element size as the operand size.
 *
 * <p>Each constant says what the instruction does with an explicit memory operand in the first position
 * (a memory operand in a later position is a source, hence read). {@link #UNSUPPORTED} is an instruction
 * Capstone decodes but we do not execute: running it stops with its mnemonic and pc.
 */
public enum Mnemonic {
  // data movement
  MOV(WRITE), MOVZX(WRITE), MOVSX(WRITE), MOVSXD(WRITE), LEA(ADDRESS_ONLY), XCHG(READ_WRITE),
  CMPXCHG(READ_WRITE), CMPXCHG8B(READ_WRITE), CMPXCHG16B(READ_WRITE), XADD(READ_WRITE), BSWAP(READ_WRITE),
  CBW(READ), CWDE(READ), CDQE(READ), CWD(READ), CDQ(READ), CQO(READ),
  PUSH(READ), POP(WRITE), PUSHFQ(READ), POPFQ(READ), LEAVE(READ), ENTER(READ), LAHF(READ), SAHF(READ),
  // integer arithmetic and logic
  ADD(READ_WRITE), ADC(READ_WRITE), SUB(READ_WRITE), SBB(READ_WRITE), CMP(READ), AND(READ_WRITE),
  OR(READ_WRITE), XOR(READ_WRITE), TEST(READ), NOT(READ_WRITE), NEG(READ_WRITE), INC(READ_WRITE),
  DEC(READ_WRITE),
  SHL(READ_WRITE), SHR(READ_WRITE), SAR(READ_WRITE), ROL(READ_WRITE), ROR(READ_WRITE), RCL(READ_WRITE),
  RCR(READ_WRITE), SHLD(READ_WRITE), SHRD(READ_WRITE),
  MUL(READ), IMUL(READ), DIV(READ), IDIV(READ),
  BT(READ), BTS(READ_WRITE), BTR(READ_WRITE), BTC(READ_WRITE), BSF(READ), BSR(READ), TZCNT(READ),
  LZCNT(READ), POPCNT(READ),
  // control flow
  JCC(READ), SETCC(WRITE), CMOVCC(READ), JMP(READ), CALL(READ), RET(READ), JRCXZ(READ), LOOP(READ),
  LOOPE(READ), LOOPNE(READ),
  // string instructions (implicit [rsi]/[rdi] operands)
  MOVS(READ), STOS(READ), LODS(READ), CMPS(READ), SCAS(READ),
  // flags
  CLC(READ), STC(READ), CMC(READ), CLD(READ), STD(READ), CLI(READ), STI(READ), STAC(READ), CLAC(READ),
  // hints, fences, cache control: no architectural effect in this emulator
  NOP(ADDRESS_ONLY), PAUSE(READ), LFENCE(READ), MFENCE(READ), SFENCE(READ), PREFETCH(ADDRESS_ONLY),
  CLFLUSH(ADDRESS_ONLY), WBINVD(READ),
  // system
  SYSCALL(READ), SYSRET(READ), IRET(READ), SWAPGS(READ), RDMSR(READ), WRMSR(READ), CPUID(READ),
  RDTSC(READ), RDTSCP(READ), RDPID(WRITE), XGETBV(READ), HLT(READ), INVLPG(ADDRESS_ONLY), INT3(READ),
  UD(READ), VERW(READ),
  // x87 / FXSAVE state: the FPU has no state here; these are recognised and keep their memory effects
  FXSAVE(WRITE), FXRSTOR(READ), FNCLEX(READ), FNINIT(READ), EMMS(READ), FWAIT(READ), FILD(READ),
  UNSUPPORTED(READ);

  private final MemoryRole firstOperandRole;

  Mnemonic(MemoryRole firstOperandRole) {
    this.firstOperandRole = firstOperandRole;
  }

  /**
   * The role of an explicit memory operand at {@code operandIndex}. An instruction that only computes its memory
   * operand's address (lea, whose memory operand is its second; nop, prefetch, clflush, invlpg) has it ADDRESS_ONLY
   * at any index: nothing is read, so nothing is routed.
   */
  public MemoryRole memoryRole(int operandIndex) {
    if (this == XCHG) {
      return READ_WRITE;
    }
    if (firstOperandRole == ADDRESS_ONLY) {
      return ADDRESS_ONLY;
    }
    return operandIndex == 0 ? firstOperandRole : READ;
  }

  /** Whether this is a condition-code family (the condition is in {@link Instruction#condition}). */
  public boolean conditional() {
    return this == JCC || this == SETCC || this == CMOVCC;
  }

  /** Whether this is a string instruction, to which rep/repe/repne prefixes apply. */
  public boolean string() {
    return this == MOVS || this == STOS || this == LODS || this == CMPS || this == SCAS;
  }
}
