package io.hybridbridge.emulator.machine;

/**
 * The emulated kernel could not complete a system call (or the machine could not be set up): why, and where
 * in the kernel it stopped. The message names the pc and its symbol ({@code function+0x1f}).
 */
public class MachineException extends Exception {
  /** What went wrong. */
  public enum Reason {
    /** The reference cannot be made runnable (not caught in user mode, profile of another boot, ...). */
    SETUP,
    /** The instruction budget of one system call ran out: a runaway loop, or a call far bigger than expected. */
    BUDGET_EXHAUSTED,
    /** The kernel executed an instruction the emulator does not implement. */
    UNIMPLEMENTED_INSTRUCTION,
    /** A fault in the kernel that its exception table does not cover (it would have oopsed). */
    KERNEL_FAULT,
    /** A BUG() of the kernel (ud2 with a bug-table entry that is not a warning), or a plain #UD. */
    KERNEL_BUG,
    /** The kernel would sleep or switch tasks (schedule and friends): nothing would ever wake it here. */
    WOULD_SLEEP,
    /** The snapshot cannot serve a page the kernel needs (a hole, an unreadable page, a broken page table). */
    MEMORY_ERROR,
    /** The kernel spins waiting for another CPU or an interrupt (e.g. a seqcount the snapshot caught mid-update). */
    SPINNING,
    /** The run ended some other way (hlt, a return to user mode elsewhere than the agent). */
    UNEXPECTED_STOP,
  }

  private final Reason reason;
  private final long pc;

  public MachineException(Reason reason, long pc, String message) {
    super(message);
    this.reason = reason;
    this.pc = pc;
  }

  public MachineException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
    this.pc = 0;
  }

  public Reason reason() {
    return reason;
  }

  /** The runtime pc where the kernel stopped (0 for SETUP). */
  public long pc() {
    return pc;
  }
}
