package io.hybridbridge.emulator.kernel;

import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.memory.PageTableWalker;
import io.hybridbridge.emulator.memory.VirtualMemory;
import io.hybridbridge.emulator.snapshot.Snapshot;
import java.util.ArrayList;
import java.util.List;

/**
 * The kernel inside one snapshot, located and identified without symbols: its {@link KernelLayout}, its
 * {@link KernelIdentity}, and its kernel address space (read through the kernel page tables).
 */
public final class GuestKernel {
  private final Snapshot snapshot;
  private final KernelLayout layout;
  private final KernelIdentity identity;
  private final PageTableWalker pageTables;

  private GuestKernel(Snapshot snapshot, KernelLayout layout, KernelIdentity identity) {
    this.snapshot = snapshot;
    this.layout = layout;
    this.identity = identity;
    this.pageTables = new PageTableWalker(snapshot, layout.pageTableRoot(), layout.pagingLevels(), true);
  }

  /** Locates the kernel (page-table root, KASLR layout) and reads its banner and build-id. */
  public static GuestKernel locate(Snapshot snapshot) throws KernelAnalysisException {
    return of(snapshot, KernelLayout.find(snapshot));
  }

  /** Identifies the kernel at an already found {@code layout}. */
  public static GuestKernel of(Snapshot snapshot, KernelLayout layout) throws KernelAnalysisException {
    return new GuestKernel(snapshot, layout, KernelIdentity.find(snapshot, layout));
  }

  public Snapshot snapshot() {
    return snapshot;
  }

  public KernelLayout layout() {
    return layout;
  }

  public KernelIdentity identity() {
    return identity;
  }

  /** The kernel page tables (kernel half of the PGD pair under PTI). */
  public PageTableWalker pageTables() {
    return pageTables;
  }

  /** Most CPUs a kernel supports (CONFIG_NR_CPUS upper bound); more in {@code nr_cpu_ids} means a corrupt value. */
  private static final int MAX_CPUS = 8192;

  /**
   * The per-CPU base of every possible CPU, read from the kernel's own {@code __per_cpu_offset[nr_cpu_ids]} (the
   * symbols come from the build's profile). For snapshots without CPU state; agrees with
   * {@link KernelLayout#perCpuBases()} where both exist.
   */
  public List<Long> perCpuBases(Profile profile) throws KernelAnalysisException {
    try {
      VirtualMemory memory = memory();
      long count = memory.readLong(Profile.runtime(symbol(profile, "nr_cpu_ids"), layout)) & 0xffff_ffffL;
      if (count == 0 || count > MAX_CPUS) {
        throw new KernelAnalysisException(snapshot.name() + ": nr_cpu_ids is " + count);
      }
      long offsets = Profile.runtime(symbol(profile, "__per_cpu_offset"), layout);
      List<Long> bases = new ArrayList<>();
      for (int cpu = 0; cpu < count; cpu++) {
        bases.add(memory.readLong(offsets + 8L * cpu));
      }
      return List.copyOf(bases);
    } catch (MemoryAccessException e) {
      throw new KernelAnalysisException(snapshot.name() + ": per-CPU offsets cannot be read: " + e.getMessage(), e);
    }
  }

  private static long symbol(Profile profile, String name) throws KernelAnalysisException {
    return profile.address(name).orElseThrow(() -> new KernelAnalysisException("the profile has no " + name));
  }

  /** Kernel virtual memory of this snapshot. */
  public VirtualMemory memory() {
    return new VirtualMemory(snapshot, pageTables);
  }
}
