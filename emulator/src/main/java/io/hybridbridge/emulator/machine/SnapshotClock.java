package io.hybridbridge.emulator.machine;

import io.hybridbridge.emulator.cpu.Cpu;
import io.hybridbridge.emulator.cpu.TscClock;

/**
 * The time-stamp counter the kernel reads (rdtsc), derived from the snapshot's own timekeeping, so that the
 * clocks the kernel reports (/proc/uptime, clock_gettime) are the guest's at the dump, not the host's.
 *
 * <p>The rule. The kernel's clock is {@code time = base + (tsc - cycle_last) * mult >> shift}, where
 * {@code cycle_last} and {@code base} are its timekeeper's last update (every tick, HZ=250 here: the agent
 * spins, so ticks run until the dump). Reading them would need the timekeeper's structure layout, which we do
 * not use. Instead the kernel's own {@code clock_gettime(CLOCK_MONOTONIC)} is asked, at probe TSC values: for a
 * TSC before {@code cycle_last} it answers {@code base} (the kernel clamps negative deltas), after it a later
 * time. The first TSC for which the kernel's time moves is {@code cycle_last}, the TSC of the last tick before the
 * dump: found by growing a probe until the time moves, then from the line of the time past it, confirmed and made
 * exact by a bisection of a few probes (≈ 15 calls of ≈ 400 instructions; ≈ 50 by bisection alone). It is checked
 * against the scalar {@code tsc_khz} (read by symbol): one second of TSC ticks must move the kernel's clock by one
 * second (±1 %), which also proves the clocksource is the TSC.
 *
 * <p>Each run then starts at that TSC and advances one tick per instruction retired, so a run is
 * deterministic and the kernel sees time move forward. Uptime is the guest's at its last tick (at most one
 * tick, 4 ms, before the dump).
 */
final class SnapshotClock implements TscClock {
  /** The search for the knee multiplies its probe by 2^4: 4 probes from 2^20 past a 6 s boot's 2^34 ticks. */
  private static final int GROWTH = 4;
  private final long start;
  private long startInstructions;

  SnapshotClock(long start) {
    this.start = start;
  }

  /** The TSC at the start of every run. */
  long start() {
    return start;
  }

  /** Starts a run: the counter goes back to {@link #start()}. */
  void restart(Cpu cpu) {
    startInstructions = cpu.instructionsRetired();
  }

  /** Resumes a run whose counter had advanced {@code elapsed} ticks past {@link #start()} (a checkpoint). */
  void resume(Cpu cpu, long elapsed) {
    startInstructions = cpu.instructionsRetired() - elapsed;
  }

  /** Ticks the counter has advanced in this run. */
  long elapsed(Cpu cpu) {
    return cpu.instructionsRetired() - startInstructions;
  }

  @Override
  public long read(Cpu cpu) {
    return start + (cpu.instructionsRetired() - startInstructions);
  }

  /** The kernel's CLOCK_MONOTONIC (ns) when the TSC reads {@code tsc}: one clock_gettime call. */
  @FunctionalInterface
  interface KernelTime {
    long at(long tsc) throws MachineException;
  }

  /**
   * Finds {@code cycle_last} of the kernel's timekeeper by asking its clock (see the class comment).
   *
   * @param tscKhz the kernel's {@code tsc_khz}
   */
  static long lastUpdate(KernelTime kernel, long tscKhz) throws MachineException {
    if (tscKhz <= 0 || tscKhz > 100_000_000) {
      throw new MachineException(MachineException.Reason.SETUP, 0, "tsc_khz is " + tscKhz + ": not a TSC rate");
    }
    long base = kernel.at(0);
    long lo = 0; // the kernel's time does not move here
    long hi = 1L << 20;
    long atHi;
    while ((atHi = kernel.at(hi)) == base) {
      lo = hi;
      if (hi == 1L << 60) {
        throw new MachineException(MachineException.Reason.SETUP, 0,
            "the kernel's CLOCK_MONOTONIC does not follow the TSC (is its clocksource not the TSC?)");
      }
      hi <<= GROWTH;
    }
    // Past the knee the kernel's time is linear in the TSC: two points of the line give the knee to a few ticks,
    // checked by two probes around it. Far past the knee the kernel's 64-bit arithmetic may wrap; the estimate is
    // then not confirmed and the bisection takes the whole interval.
    long second = tscKhz * 1000;
    long atFar = kernel.at(hi + second);
    if (atFar > atHi) {
      double ticksPerNano = (double) second / (atFar - atHi);
      long estimate = hi - (long) ((atHi - base) * ticksPerNano);
      // the kernel's times are whole nanoseconds: the estimate is off by ≈ 1 ns per second of line before hi
      long margin = (long) ((2 + 2.0 * (atHi - base) / (atFar - atHi)) * ticksPerNano) + 2;
      if (estimate - margin > lo && estimate - margin < hi && kernel.at(estimate - margin) == base) {
        lo = estimate - margin;
      }
      if (estimate + margin > lo && estimate + margin < hi && kernel.at(estimate + margin) != base) {
        hi = estimate + margin;
      }
    }
    while (hi - lo > 1) {
      long mid = lo + (hi - lo) / 2;
      if (kernel.at(mid) == base) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    long elapsed = kernel.at(hi + second) - base;
    if (Math.abs(elapsed - 1_000_000_000L) > 10_000_000L) {
      throw new MachineException(MachineException.Reason.SETUP, 0, ("%d TSC ticks (tsc_khz %d) move the kernel's "
          + "CLOCK_MONOTONIC by %d ns, not one second: its clocksource is not the TSC at tsc_khz").formatted(second,
          tscKhz, elapsed));
    }
    return hi;
  }
}
