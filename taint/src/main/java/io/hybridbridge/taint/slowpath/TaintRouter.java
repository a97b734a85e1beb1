package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.cpu.AccessRouter;
import io.hybridbridge.emulator.cpu.MemoryAccess;
import io.hybridbridge.emulator.decode.Instruction;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.kernel.KernelLayout;
import io.hybridbridge.taint.policy.RedirectPolicy;
import io.hybridbridge.taint.shadow.TaintShadow;

/**
 * Routes every data access the way {@link RedirectPolicy#redirects} decides (DESIGN §5.3) and records the decision,
 * with its call-site context, as training metadata ({@link DecisionLog}). The inspection's budget and the check that
 * execution stays in T's kernel text come first ({@link AccessGuard}).
 */
public final class TaintRouter implements AccessRouter {
  private final TaintShadow shadow;
  private final RedirectPolicy policy;
  private final AccessGuard guard;
  private final long slide;
  private final int untrustedSpace;
  private final int perCpuSpace;
  private final CallContext calls;
  private final DecisionLog log;

  /**
   * @param guard the text check; its syscall entry range is where user registers are still
   *     live, so register shadows are cleared there (the driver sets arguments without the shadow knowing)
   * @param untrustedSpace the CPU's index of the U-through-T space
   * @param perCpuSpace the CPU's index of U's per-CPU view ({@link RedirectPolicy.Route#PER_CPU})
   */
  public TaintRouter(TaintShadow shadow, RedirectPolicy policy, AccessGuard guard,
      KernelLayout layout, int untrustedSpace, int perCpuSpace, DecisionLog log) {
    this.shadow = shadow;
    this.policy = policy;
    this.guard = guard;
    this.slide = layout.slide();
    this.untrustedSpace = untrustedSpace;
    this.perCpuSpace = perCpuSpace;
    this.calls = new CallContext(layout);
    this.log = log;
  }

  public DecisionLog log() {
    return log;
  }

  public CallContext calls() {
    return calls;
  }

  @Override
  public int route(MemoryAccess access) {
    int refused = guard.check(access);
    if (refused >= 0) {
      return refused;
    }
    long pc = access.pc();
    if (guard.inSyscallEntry(pc)) {
      shadow.clearRegisters(); // entered from user mode: the registers hold the driver's clean arguments
      calls.clear();
    }
    int operand = access.operand();
    long addressShadow;
    RedirectPolicy.Operand kind = RedirectPolicy.Operand.ADDRESSED;
    switch (operand) {
      case MemoryAccess.STACK: {
        calls.onStackAccess(access.instruction(), access);
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
        Instruction insn = access.instruction();
        if (insn.memory != null && insn.memory.base == Reg.RSP) {
          kind = RedirectPolicy.Operand.STACK_BASED;
        }
        addressShadow = access.addressShadow();
        break;
      }
    }
    boolean gsRelative = operand >= 0 && access.instruction().memory.segment == Reg.GS;
    RedirectPolicy.Route route = policy.route(kind, addressShadow, access.address(), gsRelative);
    log.record(pc - slide, operand, route, calls.context(access.address()));
    return switch (route) {
      case LOCAL -> 0;
      case REDIRECT -> untrustedSpace;
      case PER_CPU -> perCpuSpace;
    };
  }
}
