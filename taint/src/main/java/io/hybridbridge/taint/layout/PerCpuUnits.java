package io.hybridbridge.taint.layout;

import io.hybridbridge.emulator.kernel.GuestKernel;
import io.hybridbridge.emulator.kernel.KernelAnalysisException;
import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import java.util.List;

/**
 * The per-CPU areas of one boot: unit {@code i} is {@code [bases[i], bases[i] + unitSize)}, read from the kernel's own
 * {@code __per_cpu_offset[]} and {@code pcpu_unit_size} (symbols from the build's profile). The first
 * {@code staticSize} bytes of a unit are the static per-CPU variables ({@code __per_cpu_start..__per_cpu_end}); the
 * rest holds the first chunk's dynamic allocations ({@code alloc_percpu}).
 */
public record PerCpuUnits(List<Long> bases, long unitSize, long staticSize) {
  /** Most bytes a per-CPU unit can span (the kernel caps units far below; beyond means a corrupt value). */
  private static final long MAX_UNIT = 64L << 20;

  public PerCpuUnits {
    bases = List.copyOf(bases);
  }

  /** Reads the per-CPU units of {@code kernel} (a boot of the build {@code profile} describes). */
  public static PerCpuUnits of(GuestKernel kernel, Profile profile) throws KernelAnalysisException {
    List<Long> bases = kernel.perCpuBases(profile);
    long sizeAddress = Profile.runtime(profile.address("pcpu_unit_size").orElseThrow(
        () -> new KernelAnalysisException("the profile has no pcpu_unit_size")), kernel.layout());
    long unitSize;
    try {
      unitSize = kernel.memory().readLong(sizeAddress) & 0xffff_ffffL; // an int
    } catch (MemoryAccessException e) {
      throw new KernelAnalysisException(kernel.snapshot().name() + ": pcpu_unit_size cannot be read: " + e.getMessage(), e);
    }
    long staticSize = profile.perCpu().size();
    if (unitSize < staticSize || unitSize > MAX_UNIT) {
      throw new KernelAnalysisException(String.format("%s: per-CPU unit size %#x is absurd (static area %#x)",
          kernel.snapshot().name(), unitSize, staticSize));
    }
    return new PerCpuUnits(bases, unitSize, staticSize);
  }

  /** Whether every unit starts and ends on a 4 KiB page: a page then lies in one unit or in none. */
  public boolean pageGranular() {
    return (unitSize & 0xfff) == 0 && bases.stream().allMatch(base -> (base & 0xfff) == 0);
  }

  /** The CPU whose unit holds {@code address}, or -1. */
  public int cpuOf(long address) {
    for (int cpu = 0; cpu < bases.size(); cpu++) {
      if (Long.compareUnsigned(address - bases.get(cpu), unitSize) < 0) {
        return cpu;
      }
    }
    return -1;
  }

  /** Offset of {@code address} in the unit of {@code cpu}. */
  public long offset(int cpu, long address) {
    return address - bases.get(cpu);
  }

  public long base(int cpu) {
    return bases.get(cpu);
  }

  public int count() {
    return bases.size();
  }
}
