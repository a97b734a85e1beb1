package io.hybridbridge.emulator.kernel;

import io.hybridbridge.emulator.memory.Mapping;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.memory.PageTableWalker;
import io.hybridbridge.emulator.memory.PhysicalMemory;
import io.hybridbridge.emulator.snapshot.CpuState;
import io.hybridbridge.emulator.snapshot.PhysicalRange;
import io.hybridbridge.emulator.snapshot.Snapshot;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds a {@link KernelLayout} from the structure of the kernel's page tables, without symbols.
 *
 * <ul>
 *   <li>Root: CR3 of a recorded CPU (under PTI the kernel half of the pair, CR3 &amp; ~0x1000); without CPU
 *       state, a physical page that works as a kernel PGD (see {@link #searchRoot}).
 *   <li>{@code _text}: the first mapped 2 MiB page in 0xffffffff80000000–0xffffffffc0000000; its physical
 *       address is the load address; the mappings from there that keep its physical offset are the image.
 *   <li>{@code page_offset_base}: virtual minus physical of the first mapping of the kernel half (the direct
 *       map comes first and maps physical memory at a constant offset).
 *   <li>{@code vmalloc_base}: the 1 GiB slot of the first mapping after the direct map that does not keep that
 *       offset (vmalloc hands out addresses lowest-first, and the regions are 1 GiB aligned).
 *   <li>{@code vmemmap_base}: the 1 GiB slot of the first mapping past the vmalloc region (struct page of frame
 *       0 sits at its very start).
 * </ul>
 */
final class LayoutFinder {
  private static final long GIB = 1L << 30;
  private static final long MIB2 = 1L << 21;
  private static final long ADDRESS = 0x000f_ffff_ffff_f000L;
  /** Tables a layout scan may read: far more than any real kernel half needs, far less than a hostile loop. */
  private static final int SCAN_BUDGET = 1 << 16;
  /** A page merely tried as a root gets less: a real kernel half needs a few hundred tables up to vmemmap. */
  private static final int CANDIDATE_SCAN_BUDGET = 1 << 12;
  /** Physical pages looked at as a PGD when no CPU state names one. */
  private static final long MAX_ROOT_CANDIDATES = 1L << 26;
  /** Pages that pass the cheap filter and get the full (budgeted) derivation; real images need one. */
  private static final int MAX_ROOT_TRIALS = 64;

  private LayoutFinder() {}

  static KernelLayout find(Snapshot snapshot) throws KernelAnalysisException {
    List<CpuState> cpus = snapshot.cpus();
    List<Long> perCpu = new ArrayList<>();
    for (CpuState cpu : cpus) {
      boolean known = cpu.origin() != CpuState.Origin.PRSTATUS || !cpu.userMode();
      if (!known) {
        perCpu.clear();
        break;
      }
      perCpu.add(cpu.perCpuBase());
    }
    StringBuilder tried = new StringBuilder();
    for (CpuState cpu : cpus) {
      if (!cpu.hasControlRegisters()) {
        continue;
      }
      long root = cpu.pageTableRoot();
      long[] candidates = (root & CpuState.CR3_PTI_USER) != 0
          ? new long[] {root & ~CpuState.CR3_PTI_USER, root} : new long[] {root};
      for (long candidate : candidates) {
        try {
          return fromRoot(snapshot, candidate, cpu.pagingLevels(), perCpu, SCAN_BUDGET);
        } catch (KernelAnalysisException e) {
          tried.append(String.format("%n  CPU %d root %#x: %s", cpu.index(), candidate, e.getMessage()));
        }
      }
    }
    if (tried.length() > 0) {
      throw new KernelAnalysisException(snapshot.name() + ": no recorded CR3 leads to a kernel:" + tried);
    }
    return searchRoot(snapshot, perCpu);
  }

  /**
   * Tries every physical page as a 4-level (then 5-level) PGD: a cheap filter on its last entry (the kernel image
   * window's), then the full layout derivation, which only a real kernel PGD passes.
   */
  private static KernelLayout searchRoot(Snapshot snapshot, List<Long> perCpu) throws KernelAnalysisException {
    long tried = 0;
    int trials = 0;
    for (int levels : new int[] {4, 5}) {
      for (PhysicalRange range : snapshot.ranges()) {
        for (long page = range.start(); page < range.end(); page += PhysicalMemory.PAGE_SIZE) {
          if (++tried > MAX_ROOT_CANDIDATES) {
            throw new KernelAnalysisException(snapshot.name() + ": no kernel page-table root among the first "
                + MAX_ROOT_CANDIDATES + " pages");
          }
          if (!plausibleKernelTop(snapshot, page)) {
            continue;
          }
          if (++trials > MAX_ROOT_TRIALS) {
            throw new KernelAnalysisException(snapshot.name() + ": no CPU state, and none of the first "
                + MAX_ROOT_TRIALS + " pages shaped like a kernel PGD works as one");
          }
          try {
            return fromRoot(snapshot, page, levels, perCpu, CANDIDATE_SCAN_BUDGET);
          } catch (KernelAnalysisException e) {
            // not a kernel PGD; keep looking
          }
        }
      }
    }
    throw new KernelAnalysisException(snapshot.name()
        + ": no CPU state, and no physical page works as a kernel page-table root (no mapped kernel image found)");
  }

  /**
   * Entry 511 of the page (the top 512 GiB) and, in the table it points at, entry 510 (the kernel image window
   * 0xffffffff80000000–0xffffffffbfffffff) are both present non-leaf entries pointing at pages the image holds.
   * (Checked for the 4-level layout; a 5-level root has the same two-step shape one level higher, which the full
   * derivation then checks.)
   */
  private static boolean plausibleKernelTop(Snapshot snapshot, long page) {
    try {
      long top = snapshot.readLong(page + 511 * 8);
      if (!presentTable(snapshot, top, page)) {
        return false;
      }
      long next = top & ADDRESS;
      return presentTable(snapshot, snapshot.readLong(next + 510 * 8), page)
          || presentTable(snapshot, snapshot.readLong(next + 511 * 8), page);
    } catch (MemoryAccessException e) {
      return false;
    }
  }

  private static boolean presentTable(Snapshot snapshot, long entry, long self) {
    long next = entry & ADDRESS;
    return (entry & 1) != 0 && (entry & 0x80) == 0 && next != self && snapshot.hasPage(next >>> 12);
  }

  static KernelLayout fromRoot(Snapshot snapshot, long root, int levels, List<Long> perCpu, int budget)
      throws KernelAnalysisException {
    PageTableWalker walker = new PageTableWalker(snapshot, root, levels, true);
    try {
      Mapping first = firstMapping(walker, KernelLayout.KERNEL_MAP_START, KernelLayout.KERNEL_MAP_END - 1, budget);
      if (first == null || first.size() != MIB2) {
        throw new KernelAnalysisException("no 2 MiB page mapped in the kernel image window"
            + (first == null ? "" : String.format(" (first mapping %#x is %d bytes)", first.virtualBase(), first.size())));
      }
      long text = first.virtualBase();
      long load = first.physicalBase();
      long imageSize = imageSize(walker, text, load, budget);
      long kernelHalf = -1L << (12 + 9 * levels - 1);
      Mapping direct = firstMapping(walker, kernelHalf, KernelLayout.KERNEL_MAP_START - 1, budget);
      if (direct == null) {
        throw new KernelAnalysisException("nothing mapped in the kernel half below the image: no direct map");
      }
      long pageOffsetBase = direct.virtualBase() - direct.physicalBase();
      if (pageOffsetBase % GIB != 0 || !within(snapshot, load)) {
        throw new KernelAnalysisException(String.format(
            "first kernel-half mapping %#x -> %#x does not look like the direct map", direct.virtualBase(),
            direct.physicalBase()));
      }
      Mapping vmalloc = firstMapping(walker, pageOffsetBase, KernelLayout.KERNEL_MAP_START - 1, budget,
          m -> m.virtualBase() - m.physicalBase() != pageOffsetBase);
      if (vmalloc == null) {
        throw new KernelAnalysisException("nothing mapped after the direct map: no vmalloc region");
      }
      long vmallocBase = vmalloc.virtualBase() & -GIB;
      KernelLayout partial = new KernelLayout(levels, root, text, load, imageSize, pageOffsetBase, vmallocBase, 0,
          perCpu);
      Mapping vmemmap = firstMapping(walker, vmallocBase + partial.vmallocSize(), KernelLayout.KERNEL_MAP_START - 1,
          budget);
      if (vmemmap == null) {
        throw new KernelAnalysisException("nothing mapped after the vmalloc region: no vmemmap");
      }
      return new KernelLayout(levels, root, text, load, imageSize, pageOffsetBase, vmallocBase,
          vmemmap.virtualBase() & -GIB, perCpu);
    } catch (MemoryAccessException e) {
      throw new KernelAnalysisException(e.getMessage(), e);
    }
  }

  private static boolean within(Snapshot snapshot, long physical) {
    return snapshot.hasPage(physical >>> PhysicalMemory.PAGE_SHIFT);
  }

  private static Mapping firstMapping(PageTableWalker walker, long from, long to, int budget)
      throws MemoryAccessException {
    return firstMapping(walker, from, to, budget, m -> true);
  }

  private static Mapping firstMapping(PageTableWalker walker, long from, long to, int budget,
      java.util.function.Predicate<Mapping> wanted) throws MemoryAccessException {
    Mapping[] found = {null};
    walker.scan(from, to, budget, m -> {
      if (Long.compareUnsigned(m.virtualBase() + m.size() - 1, from) >= 0 && wanted.test(m)) {
        found[0] = m;
        return false;
      }
      return true;
    });
    return found[0];
  }

  /**
   * Bytes from {@code text} to the end of the last mapping of the window that keeps the image's physical offset.
   * Not merely the first contiguous run: the kernel unmaps the padding between text, rodata and data at boot.
   */
  private static long imageSize(PageTableWalker walker, long text, long load, int budget)
      throws MemoryAccessException {
    long[] end = {text};
    walker.scan(text, KernelLayout.KERNEL_MAP_END - 1, budget, m -> {
      if (m.physicalBase() - load == m.virtualBase() - text) {
        end[0] = m.virtualBase() + m.size();
      }
      return true;
    });
    return end[0] - text;
  }
}
