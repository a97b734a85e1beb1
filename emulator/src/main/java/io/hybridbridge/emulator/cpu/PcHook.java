package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.memory.MemoryAccessException;

/**
 * Code run before the instruction at a given pc (function hooks by symbol are built on this). The hook may
 * change the CPU state; if it changes RIP, the instruction at the hooked pc is not executed and the run
 * continues at the new RIP (see {@link Cpu#returnFromFunction}).
 */
@FunctionalInterface
public interface PcHook {
  /** What to do after the hook ran. */
  record Result(boolean stop, String reason) {
    public static final Result CONTINUE = new Result(false, null);

    public static Result stop(String reason) {
      return new Result(true, reason);
    }
  }

  Result beforeExecute(Cpu cpu) throws MemoryAccessException;

  /**
   * Whether the hook stands in for the whole function at its pc: it never stops the run and always returns from the
   * function ({@link Cpu#returnFromFunction}). A translated call to such a pc runs the hook in place and goes on
   * where the function returned to, without leaving its region: netstat calls the hooked {@code __cond_resched} once
   * per hash bucket, ≈ 4,300 times an inspection, and each left the region and came back through the run loop.
   */
  default boolean standsIn() {
    return false;
  }

  /** A hook that stands in for a function: {@code body} returns from it ({@link Cpu#returnFromFunction}). */
  static PcHook standIn(StandIn body) {
    return new PcHook() {
      @Override
      public Result beforeExecute(Cpu cpu) throws MemoryAccessException {
        body.run(cpu);
        return Result.CONTINUE;
      }

      @Override
      public boolean standsIn() {
        return true;
      }
    };
  }

  /** What a hook that stands in for a function does: returns from it, with its result. */
  @FunctionalInterface
  interface StandIn {
    void run(Cpu cpu) throws MemoryAccessException;
  }
}
