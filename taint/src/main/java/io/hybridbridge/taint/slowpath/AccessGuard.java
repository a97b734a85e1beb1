package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.cpu.MemoryAccess;

/**
 * The check every router of one inspection makes before deciding an access, the same on the slow and the fast
 * path: that the executing pc is in T's kernel text (a code pointer loaded from U that led elsewhere must stop the
 * run: T never runs code it does not have, DESIGN §5.2). A refused access is routed to a space that fails it with the
 * reason ({@link #refuse}), which stops the run with that message. What limits an inspection's length is the
 * machine's instruction budget of a run ({@link io.hybridbridge.emulator.machine.KernelMachine#setRunBudget}),
 * which costs the fast path's bound accesses nothing.
 */
public final class AccessGuard {
  private final long textStart;
  private final long textLength;
  private final long entryStart;
  private final long entryLength;
  private final RefusingSpace refusal;
  private final int refusingSpace;

  /**
   * @param text runtime {@code [start, end)} of T's kernel text
   * @param syscallEntry runtime {@code [entry_SYSCALL_64, entry_SYSCALL_64_after_hwframe)}
   * @param refusingSpace the CPU's index of {@code refusal}
   */
  public AccessGuard(long[] text, long[] syscallEntry, RefusingSpace refusal, int refusingSpace) {
    this.textStart = text[0];
    this.textLength = text[1] - text[0];
    this.entryStart = syscallEntry[0];
    this.entryLength = syscallEntry[1] - syscallEntry[0];
    this.refusal = refusal;
    this.refusingSpace = refusingSpace;
  }

  /**
   * -1 when {@code access} may be decided, otherwise the index of the space that refuses it (the pc is outside T's
   * text: the run stops).
   */
  public int check(MemoryAccess access) {
    long pc = access.pc();
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
}
