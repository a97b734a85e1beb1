package io.hybridbridge.emulator.cpu;

/**
 * Why {@link Cpu#run} returned.
 *
 * @param reason the kind of stop
 * @param pc RIP when the run stopped (for USER_RETURN: the user-mode return address)
 * @param detail a human-readable explanation (mnemonic of an unimplemented instruction, the fault, ...)
 * @param fault the fault, for {@link Reason#FAULT}; otherwise null
 * @param instructions instructions executed by this call of run (a rep iteration counts as one)
 */
public record Stop(Reason reason, long pc, String detail, Fault fault, long instructions) {
  public enum Reason {
    /** sysretq, or iretq to CPL 3: the system call returned to user mode. */
    USER_RETURN,
    /** The instruction budget ran out (the CPU can be run further). */
    BUDGET_EXHAUSTED,
    /** hlt. */
    HALTED,
    /** A pc hook asked to stop. */
    HOOK,
    /** A fault that the fault handler did not resolve. */
    FAULT,
    /** An instruction the executor does not implement. */
    UNIMPLEMENTED,
    /** The memory image cannot serve an access (a hole, an unreadable page). */
    MEMORY_ERROR,
    /** A spin-wait ({@code pause}) ran a million times: it waits for another CPU or an interrupt, none of which run. */
    SPINNING
  }

  @Override
  public String toString() {
    return "%s at pc 0x%x after %d instructions%s".formatted(reason, pc, instructions,
        detail == null || detail.isEmpty() ? "" : ": " + detail);
  }
}
