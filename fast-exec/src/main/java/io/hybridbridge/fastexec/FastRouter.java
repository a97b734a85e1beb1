package io.hybridbridge.fastexec;

import io.hybridbridge.emulator.cpu.AccessRouter;
import io.hybridbridge.emulator.cpu.AddressSpace;
import io.hybridbridge.emulator.cpu.Cpu;
import io.hybridbridge.emulator.cpu.MemoryAccess;
import io.hybridbridge.emulator.decode.MemoryRole;
import io.hybridbridge.emulator.decode.Operand;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.machine.KernelMachine;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.taint.policy.RedirectPolicy;
import io.hybridbridge.taint.slowpath.AccessGuard;
import io.hybridbridge.taint.slowpath.CallContext;

/**
 * The fast path's router: every data access is decided by the memoized {@link DecisionTable}, with no taint and no
 * shadow. The checks come first, as on the slow path ({@link AccessGuard}); stack and system accesses are local, as
 * the slow path's policy always decides them (which is why they are not in the metadata); the call-site context of
 * mixed entries is the slow path's own {@link CallContext}, kept from the stack accesses of {@code call} and {@code
 * ret}, so that both paths hash the same return addresses.
 *
 * <p>Anything the table does not cover stops the run where it happens (the access is routed to the guard's refusing
 * space) and is kept as the {@link Stop} of this router: never a guess. Accesses whose decision does not depend on
 * what training saw are the exception (see {@link #undecided}).
 */
final class FastRouter implements AccessRouter {
  /** Why the fast path stopped. */
  enum Reason {
    /** The training never executed this memory-operand instruction. */
    NO_ENTRY,
    /** A mixed instruction in a call-site context the training never met. */
    UNSEEN_CONTEXT,
    /** A mixed instruction in a context the training saw both local and redirected. */
    AMBIGUOUS_CONTEXT,
  }

  /** Where and why the run stopped. */
  record Stop(Reason reason, long pc, int operand, long context, long[] callSites, long instructions, long syscalls) {}

  private final DecisionTable table;
  private final RedirectPolicy policy;
  private final AccessGuard guard;
  private final KernelMachine machine;
  private final AddressSpace local;
  private final AddressSpace untrusted;
  private final Cpu cpu;
  private final CallContext calls;
  private final int untrustedSpace;
  private final int perCpuSpace;
  /** The redirected instructions of this inspection (their table slots). */
  private final SlotSet redirectedSeen;
  private long firstInstruction;
  private long firstSyscall;
  private long untabled;
  private int redirectedInstructions;
  private Stop stop;

  /**
   * @param policy the slow path's policy, for accesses whose decision does not depend on taint
   * @param machine the machine
   * @param untrusted the U-through-T space
   * @param layout T's layout (call-site contexts are hashed as the slow path hashes them)
   * @param untrustedSpace the CPU's index of the U-through-T space
   * @param perCpuSpace the CPU's index of U's per-CPU view ({@link DecisionTable#PER_CPU})
   * @param redirectedSeen a set to count redirected instructions in (emptied here)
   */
  FastRouter(DecisionTable table, RedirectPolicy policy, AccessGuard guard, KernelMachine machine,
      AddressSpace untrusted, int untrustedSpace, int perCpuSpace, SlotSet redirectedSeen) {
    this.table = table;
    this.policy = policy;
    this.guard = guard;
    this.machine = machine;
    this.local = machine.memory();
    this.untrusted = untrusted;
    this.cpu = machine.cpu();
    this.calls = new CallContext(machine.layout());
    this.untrustedSpace = untrustedSpace;
    this.perCpuSpace = perCpuSpace;
    this.redirectedSeen = redirectedSeen;
    redirectedSeen.clear(table.capacity());
  }

  /** The tool's first system call is about to be made: instructions are counted from here. */
  void start() {
    firstInstruction = cpu.instructionsRetired();
    firstSyscall = machine.syscalls();
  }

  @Override
  public int route(MemoryAccess access) {
    int refused = guard.check(access);
    if (refused >= 0) {
      return refused;
    }
    long pc = access.pc();
    if (guard.inSyscallEntry(pc)) {
      calls.clear(); // a system call starts on an empty kernel stack
    }
    int operand = access.operand();
    if (operand == MemoryAccess.STACK) {
      calls.onStackAccess(access.instruction(), access);
      return 0;
    }
    if (operand == MemoryAccess.SYSTEM) {
      return 0;
    }
    int slot = table.find(pc, operand);
    if (slot == DecisionTable.ABSENT) {
      return undecided(Reason.NO_ENTRY, access);
    }
    int decision = table.decision(slot);
    if (decision >= DecisionTable.MIXED) {
      decision = table.decide(decision, calls.context(access.address()));
    }
    switch (decision) {
      case DecisionTable.LOCAL:
        return 0;
      case DecisionTable.REDIRECT:
        redirected(slot);
        return untrustedSpace;
      case DecisionTable.PER_CPU:
        redirected(slot);
        return perCpuSpace;
      case DecisionTable.UNSEEN:
        return undecided(Reason.UNSEEN_CONTEXT, access);
      default:
        return undecided(Reason.AMBIGUOUS_CONTEXT, access);
    }
  }

  private void redirected(int slot) {
    if (redirectedSeen.add(slot)) {
      redirectedInstructions++;
    }
  }

  /**
   * An access whose decision holds for every later execution (of a translated block's instruction; of the rest of a
   * rep string instruction): a stack access (calls and returns keep the call-site context through {@link #called}
   * and {@link #returned}), a system access, and an operand the table decides one way (not a mixed one,
   * whose context decides; not one it does not cover, whose address or bytes do). The guard's check holds: the pc was
   * checked in T's text once. These accesses are not counted: the machine's instruction budget limits a run.
   */
  @Override
  public int bind(MemoryAccess access) {
    long pc = access.pc();
    if (stop != null || !guard.inText(pc) || guard.inSyscallEntry(pc)) {
      return -1;
    }
    int operand = access.operand();
    if (operand == MemoryAccess.STACK || operand == MemoryAccess.SYSTEM) {
      return 0;
    }
    int slot = table.find(pc, operand);
    if (slot == DecisionTable.ABSENT) {
      return -1;
    }
    switch (table.decision(slot)) {
      case DecisionTable.LOCAL:
        return 0;
      case DecisionTable.REDIRECT:
        return untrustedSpace;
      case DecisionTable.PER_CPU:
        return perCpuSpace;
      default:
        return -1;
    }
  }

  /** The table: a site it decides local stays local for every inspection (see {@link #bind}). */
  @Override
  public Object bindingScope() {
    return table;
  }

  @Override
  public void called(long returnAddress, long slot) {
    calls.call(returnAddress, slot);
  }

  @Override
  public void returned(long slot) {
    calls.ret(slot);
  }

  /**
   * An access the table cannot decide. Two kinds need no decision from training, and are counted ({@link
   * #untabled()}); anything else stops the run.
   * <ul>
   *   <li>An explicit operand whose address uses no register but RSP or RIP: its address carries no taint on the slow
   *       path either (segment bases are T's), so the slow path's own {@link RedirectPolicy} decides it from the
   *       address alone, here as there: RSP-based operands are T's stack; a constant address (a global, {@code
   *       %gs:} per-CPU data) is redirected when the policy calls it a source.
   *   <li>A pure read whose bytes are the same in T and in U (U's as T's code would see them, rebased): the
   *       instruction gets the same value whichever way it goes, so the run goes on exactly as after either decision.
   * </ul>
   */
  private int undecided(Reason reason, MemoryAccess access) {
    if (access.operand() >= 0) {
      Operand m = access.instruction().memory;
      if (m.base == Reg.RSP) {
        untabled++;
        return policy.redirects(RedirectPolicy.Operand.STACK_BASED, 0, access.address()) ? untrustedSpace : 0;
      }
      if (m.index < 0 && (m.base < 0 || m.base == Reg.RIP)) {
        untabled++;
        return policy.redirects(RedirectPolicy.Operand.ADDRESSED, 0, access.address()) ? untrustedSpace : 0;
      }
    }
    if (access.role() == MemoryRole.READ && sameInBoth(access.address(), access.size())) {
      untabled++;
      return 0;
    }
    return stop(reason, access);
  }

  private boolean sameInBoth(long address, int size) {
    try {
      return local.read(address, size) == untrusted.read(address, size);
    } catch (MemoryAccessException e) {
      return false; // a fault on either side: which one the kernel sees depends on the decision
    }
  }

  private int stop(Reason reason, MemoryAccess access) {
    long pc = access.pc();
    int operand = access.operand();
    stop = new Stop(reason, pc, operand, calls.context(access.address()), calls.innermost(CallContext.DEPTH),
        cpu.instructionsRetired() - firstInstruction, machine.syscalls() - firstSyscall);
    return guard.refuse(String.format("fast path fallback (%s) at pc %#x operand %d", reason, pc, operand));
  }

  /** Why the run stopped on something the table does not cover; null if it did not. */
  Stop stop() {
    return stop;
  }

  /** Accesses the table did not decide that needed no decision from training (see {@link #undecided}). */
  long untabled() {
    return untabled;
  }

  int redirectedInstructions() {
    return redirectedInstructions;
  }
}
