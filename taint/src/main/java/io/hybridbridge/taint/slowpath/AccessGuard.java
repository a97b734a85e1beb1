package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.cpu.MemoryAccess;

/**
 * The checks every router of one inspection makes before deciding an access, the same on the slow and the fast
 * path: the inspection's access budget, and that the executing pc is in T's kernel text (a code pointer loaded from U
 * that led elsewhere must stop the run: T never runs code it does not have, DESIGN §5.2). A refused access is routed
 * to a space that fails it with the reason ({@link #refuse}), which stops the run with that message.
 */
public final class AccessGuard {
  private final long textStart;
  private final long textLength;
  private final long entryStart;
  private final long entryLength;
  private final long accessBudget;
  private final RefusingSpace refusal;
  private final int refusingSpace;
  private long accesses;

  /**
   * @param text runtime {@code [start, end)} of T's kernel text
   * @param syscallEntry runtime {@code [entry_SYSCALL_64, entry_SYSCALL_64_after_hwframe)}
   * @param accessBudget memory accesses the whole inspection may make: a list that never ends in a corrupt U (each
   *     system call returning one page of text) would otherwise run for hours within every per-call budget
   * @param refusingSpace the CPU's index of {@code refusal}
   */
  public AccessGuard(long[] text, long[] syscallEntry, long accessBudget, RefusingSpace refusal, int refusingSpace) {
    this.textStart = text[0];
    this.textLength = text[1] - text[0];
    this.entryStart = syscallEntry[0];
    this.entryLength = syscallEntry[1] - syscallEntry[0];
    this.accessBudget = accessBudget;
    this.refusal = refusal;
    this.refusingSpace = refusingSpace;
  }

  /**
   * Counts {@code access}; -1 when it may be decided, otherwise the index of the space that refuses it (the run
   * stops: over budget, or the pc is outside T's text).
   */
  public int check(MemoryAccess access) {
    return check(access, 0);
  }

  /**
   * As {@link #check(MemoryAccess)}, also counting {@code unchecked} accesses made since the last check without one (a
   * fast path's accesses served through bindings): the budget then stops the run at its next checked access.
   */
  public int check(MemoryAccess access, long unchecked) {
    long pc = access.pc();
    accesses += unchecked;
    if (++accesses > accessBudget) {
      return refuse(String.format("the inspection exceeded its budget of %,d memory accesses at pc %#x (a list in "
          + "the snapshot that does not end?)", accessBudget, pc));
    }
    if (!inText(pc)) {
      return refuse(String.format("execution left the reference kernel's text: pc %#x (a code pointer from the "
          + "snapshot?) accessing %#x", pc, access.address()));
    }
    return -1;
  }

  /** Whether {@code pc} is in T's kernel text. */
  public boolean inText(long pc) {
    return Long.compareUnsigned(pc - textStart, textLength) < 0;
  }

  /**
   * Whether {@code pc} is in the system call entry before the hardware frame is saved: the kernel was just entered
   * from user mode, its stack is empty and the registers hold the driver's arguments.
   */
  public boolean inSyscallEntry(long pc) {
    return Long.compareUnsigned(pc - entryStart, entryLength) < 0;
  }

  /** Stops the run at this access with {@code reason}: returns the index to route the access to. */
  public int refuse(String reason) {
    refusal.setReason(reason);
    return refusingSpace;
  }

  /** Accesses counted so far. */
  public long accesses() {
    return accesses;
  }
}
