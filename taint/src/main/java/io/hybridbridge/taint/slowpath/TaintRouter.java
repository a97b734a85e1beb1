package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.cpu.AccessRouter;
import io.hybridbridge.emulator.cpu.AddressSpace;
import io.hybridbridge.emulator.cpu.MemoryAccess;
import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.decode.Instruction;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.taint.policy.RedirectPolicy;
import io.hybridbridge.taint.shadow.TaintShadow;

/**
 * Routes every data access the way {@link RedirectPolicy#redirects} decides (DESIGN §5.3) and records the decision,
 * with its call-site context, as training metadata ({@link DecisionLog}).
 *
 * It also stops the run, through a space that refuses every access, when the executing pc is outside T's kernel
 * text: a code pointer loaded from U led there (DESIGN §5.2), and T must never run code it does not have.
 */
public final class TaintRouter implements AccessRouter {
  private final TaintShadow shadow;
  private final RedirectPolicy policy;
  private final DecodeCache code;
  private final long textStart;
  private final long textEnd;
  private final long entryStart;
  private final long entryEnd;
  private final long slide;
  private final int untrustedSpace;
  private final int refusingSpace;
  private final Refusal refusal;
  private final CallContext calls;
  private final DecisionLog log;
  private final long accessBudget;
  private long accesses;

  /** An address space that fails every access with the reason the router set. */
  public static final class Refusal implements AddressSpace {
    private String reason = "refused";

    private MemoryAccessException refuse(long address) {
      return new MemoryAccessException(reason, address);
    }

    @Override public long read(long address, int size) throws MemoryAccessException {
      throw refuse(address);
    }

    @Override public void write(long address, int size, long value) throws MemoryAccessException {
      throw refuse(address);
    }

    @Override public void read(long address, byte[] dst, int offset, int length) throws MemoryAccessException {
      throw refuse(address);
    }

    @Override public void write(long address, byte[] src, int offset, int length) throws MemoryAccessException {
      throw refuse(address);
    }

    @Override public int fetch(long address, byte[] dst, int length) throws MemoryAccessException {
      throw refuse(address);
    }

    @Override public void invalidate(long address) {}

    @Override public void flush() {}
  }

  /**
   * @param text runtime {@code [start, end)} of T's kernel text
   * @param syscallEntry runtime {@code [entry_SYSCALL_64, entry_SYSCALL_64_after_hwframe)}: user registers are still
   *     live there, so register shadows are cleared (the driver sets arguments without the shadow knowing)
   * @param untrustedSpace the CPU's index of the U-through-T space
   * @param refusingSpace the CPU's index of {@code refusal}
   * @param accessBudget memory accesses the whole inspection may make: a list that never ends in a corrupt U (each
   *     system call returning one page of text) would otherwise run for hours within every per-call budget
   */
  public TaintRouter(TaintShadow shadow, RedirectPolicy policy, DecodeCache code, long[] text, long[] syscallEntry,
      long slide, int untrustedSpace, Refusal refusal, int refusingSpace, DecisionLog log, long accessBudget) {
    this.shadow = shadow;
    this.policy = policy;
    this.code = code;
    this.textStart = text[0];
    this.textEnd = text[1];
    this.entryStart = syscallEntry[0];
    this.entryEnd = syscallEntry[1];
    this.slide = slide;
    this.untrustedSpace = untrustedSpace;
    this.refusal = refusal;
    this.refusingSpace = refusingSpace;
    this.calls = new CallContext(slide);
    this.log = log;
    this.accessBudget = accessBudget;
  }

  public DecisionLog log() {
    return log;
  }

  public CallContext calls() {
    return calls;
  }

  @Override
  public int route(MemoryAccess access) {
    long pc = access.pc();
    if (++accesses > accessBudget) {
      refusal.reason = String.format("the inspection exceeded its budget of %,d memory accesses at pc %#x (a list in "
          + "the snapshot that does not end?)", accessBudget, pc);
      return refusingSpace;
    }
    if (Long.compareUnsigned(pc - textStart, textEnd - textStart) >= 0) {
      refusal.reason = String.format("execution left the reference kernel's text: pc %#x (a code pointer from the "
          + "snapshot?) accessing %#x", pc, access.address());
      return refusingSpace;
    }
    if (Long.compareUnsigned(pc - entryStart, entryEnd - entryStart) < 0) {
      shadow.clearRegisters(); // entered from user mode: the registers hold the driver's clean arguments
      calls.clear();
    }
    int operand = access.operand();
    long addressShadow;
    RedirectPolicy.Operand kind = RedirectPolicy.Operand.ADDRESSED;
    switch (operand) {
      case MemoryAccess.STACK: {
        Instruction insn = code.get(pc);
        if (insn != null) {
          calls.onStackAccess(insn, access);
        }
        return 0; // IMPLICIT_STACK: never redirected, not recorded (the fast path knows it too)
      }
      case MemoryAccess.SYSTEM:
        return 0;
      case MemoryAccess.STRING_SOURCE:
        addressShadow = shadow.registerShadow(Reg.RSI);
        break;
      case MemoryAccess.STRING_DESTINATION:
        addressShadow = shadow.registerShadow(Reg.RDI);
        break;
      default: {
        Instruction insn = code.get(pc);
        if (insn != null && insn.memory != null && insn.memory.base == Reg.RSP) {
          kind = RedirectPolicy.Operand.STACK_BASED;
        }
        addressShadow = access.addressShadow();
        break;
      }
    }
    boolean redirect = policy.redirects(kind, addressShadow, access.address());
    log.record(pc - slide, operand, redirect, calls.context());
    return redirect ? untrustedSpace : 0;
  }
}
