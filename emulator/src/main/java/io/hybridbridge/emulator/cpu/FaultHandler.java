package io.hybridbridge.emulator.cpu;

/**
 * Receives the faults the CPU raises. The kernel layer resolves them the way the kernel would (its
 * exception table for a faulting user access, its bug table for ud2): it may change the CPU state, typically
 * RIP to a fixup address and a result register, and resume.
 */
@FunctionalInterface
public interface FaultHandler {
  enum Action {
    /** Continue running at the (possibly changed) RIP. */
    RESUME,
    /** Stop the run with {@link Stop.Reason#FAULT}. */
    STOP
  }

  /** The default: every fault stops the run. */
  FaultHandler STOP = (cpu, fault) -> Action.STOP;

  Action handle(Cpu cpu, Fault fault);
}
