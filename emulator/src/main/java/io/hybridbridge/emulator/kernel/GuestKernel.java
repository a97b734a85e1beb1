package io.hybridbridge.emulator.kernel;

import io.hybridbridge.emulator.memory.PageTableWalker;
import io.hybridbridge.emulator.memory.VirtualMemory;
import io.hybridbridge.emulator.snapshot.Snapshot;

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

  /** Kernel virtual memory of this snapshot. */
  public VirtualMemory memory() {
    return new VirtualMemory(snapshot, pageTables);
  }
}
