package io.hybridbridge.emulator.cpu;

/**
 * The time-stamp counter seen by rdtsc, rdtscp: pluggable because the host's counter would make the guest's
 * uptime and CPU times wrong; the kernel layer derives one from the snapshot's own timekeeping.
 */
@FunctionalInterface
public interface TscClock {
  long read(Cpu cpu);

  /** A deterministic clock: {@code start} plus {@code ticksPerInstruction} per instruction retired. */
  static TscClock counting(long start, long ticksPerInstruction) {
    return cpu -> start + cpu.instructionsRetired() * ticksPerInstruction;
  }
}
