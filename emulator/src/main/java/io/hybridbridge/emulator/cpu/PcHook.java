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
}
