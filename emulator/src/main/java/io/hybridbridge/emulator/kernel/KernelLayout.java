package io.hybridbridge.emulator.kernel;

import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Where one boot of a kernel put things (KASLR), found without symbols (see {@link LayoutFinder}): the image
 * (runtime {@code _text}, slide, physical load address), the randomised regions of the kernel half
 * ({@code page_offset_base}, {@code vmalloc_base}, {@code vmemmap_base}), the kernel page-table root, and the
 * per-CPU base of each CPU whose state the snapshot recorded.
 *
 * <p>{@link #translate} carries an address of one region of this layout to the same place in another layout's
 * region: how a snapshot U is presented through a reference T's layout (DESIGN §5.2).
 *
 * @param pageTableRoot physical address of a kernel PGD (the kernel half of any process's PGD is the same)
 * @param textBase runtime address of {@code _text}
 * @param physicalLoadAddress physical address of {@code _text}
 * @param imageSize bytes from {@code _text} to the end of the image mapping ({@code _end}, rounded up to its page)
 * @param perCpuBases per-CPU area base of each CPU with recorded state, in CPU order (empty when unknown)
 */
public record KernelLayout(
    int pagingLevels,
    long pageTableRoot,
    long textBase,
    long physicalLoadAddress,
    long imageSize,
    long pageOffsetBase,
    long vmallocBase,
    long vmemmapBase,
    List<Long> perCpuBases) {

  /** Start of the 1 GiB window the kernel image lives in (and is randomised within). */
  public static final long KERNEL_MAP_START = 0xffff_ffff_8000_0000L;
  /** End (exclusive) of that window; the module area starts here. */
  public static final long KERNEL_MAP_END = 0xffff_ffff_c000_0000L;
  /** Start of the cpu_entry_area, the same with 4 and 5 levels: the randomised regions all lie below it. */
  public static final long CPU_ENTRY_AREA_BASE = 0xffff_fe00_0000_0000L;
  /** Where {@code _text} would be without KASLR (Debian's CONFIG_PHYSICAL_START = 16 MiB). */
  public static final long DEFAULT_TEXT = 0xffff_ffff_8100_0000L;
  /** Region sizes from the x86-64 memory map (Documentation/arch/x86/x86_64/mm.rst), by paging level. */
  private static final long TIB = 1L << 40;

  public KernelLayout {
    perCpuBases = List.copyOf(perCpuBases);
  }

  /** Finds the layout of the kernel in {@code snapshot} from its page tables (no symbols needed). */
  public static KernelLayout find(io.hybridbridge.emulator.snapshot.Snapshot snapshot) throws KernelAnalysisException {
    return LayoutFinder.find(snapshot);
  }

  /**
   * Whether every region starts (and so ends: the fixed bounds are aligned) on a 4 KiB page: {@link #translate} then
   * moves all the addresses of a page by the same amount, or none of them.
   */
  public boolean pageGranular() {
    return ((textBase | pageOffsetBase | vmallocBase | vmemmapBase) & 0xfff) == 0;
  }

  /** Kernel-image slide: {@code _text} minus its link-time address. */
  public long slide() {
    return textBase - DEFAULT_TEXT;
  }

  public long vmallocSize() {
    return pagingLevels == 5 ? 12800 * TIB : 32 * TIB;
  }

  /**
   * The vmemmap region's size: the memory map's, but never past {@link #CPU_ENTRY_AREA_BASE}, below which KASLR
   * places every randomised region ({@code kernel_randomize_memory}'s {@code vaddr_end}). With 5 levels the map's
   * 512 TiB is the most the region may take, while a guest's real one is about a TiB; placed near the top, the full
   * 512 TiB would reach over the module area (a 6.1 cloud boot's lsmod then looked for T's modules in U's vmemmap).
   */
  public long vmemmapSize() {
    return Math.min(pagingLevels == 5 ? 512 * TIB : TIB, CPU_ENTRY_AREA_BASE - vmemmapBase);
  }

  /** The randomised regions, and everything else. */
  public enum Region {
    /** The kernel-image window: moves with the slide. */
    IMAGE,
    /** The direct map of all physical memory, from {@code page_offset_base}. */
    DIRECT_MAP,
    VMALLOC,
    VMEMMAP,
    /** Not randomised (user half, modules, fixmap, cpu_entry_area, …): the same in every layout. */
    FIXED,
  }

  /** The region {@code address} falls in, in this layout. */
  public Region regionOf(long address) {
    if (within(address, KERNEL_MAP_START, KERNEL_MAP_END - KERNEL_MAP_START)) {
      return Region.IMAGE;
    }
    if (within(address, pageOffsetBase, directMapSize())) {
      return Region.DIRECT_MAP;
    }
    if (within(address, vmallocBase, vmallocSize())) {
      return Region.VMALLOC;
    }
    if (within(address, vmemmapBase, vmemmapSize())) {
      return Region.VMEMMAP;
    }
    return Region.FIXED;
  }

  /** The direct map reaches up to the vmalloc region at most. */
  public long directMapSize() {
    return vmallocBase - pageOffsetBase;
  }

  /** Start of {@code region} in this layout (0 for {@link Region#FIXED}). */
  public long base(Region region) {
    return switch (region) {
      case IMAGE -> textBase;
      case DIRECT_MAP -> pageOffsetBase;
      case VMALLOC -> vmallocBase;
      case VMEMMAP -> vmemmapBase;
      case FIXED -> 0;
    };
  }

  private long size(Region region) {
    return switch (region) {
      case IMAGE -> KERNEL_MAP_END - textBase;
      case DIRECT_MAP -> directMapSize();
      case VMALLOC -> vmallocSize();
      case VMEMMAP -> vmemmapSize();
      case FIXED -> -1; // unsigned: everything
    };
  }

  /**
   * The address in {@code target}'s layout that corresponds to {@code address} in this one: same region, same
   * offset from the region's base. Empty when the offset does not fit in the target's region (or the paging
   * modes differ, which no rebasing can bridge).
   */
  public OptionalLong translate(long address, KernelLayout target) {
    if (target.pagingLevels != pagingLevels) {
      return OptionalLong.empty();
    }
    Region region = regionOf(address);
    if (region == Region.IMAGE && Long.compareUnsigned(address, textBase) < 0) {
      return OptionalLong.empty(); // below _text nothing is mapped; no meaningful counterpart
    }
    long offset = address - base(region);
    if (Long.compareUnsigned(offset, target.size(region)) >= 0) {
      return OptionalLong.empty();
    }
    return OptionalLong.of(target.base(region) + offset);
  }

  /**
   * The physical address of {@code address} when the layout alone tells it (kernel image and direct map), without
   * a page-table walk; empty for other regions.
   */
  public OptionalLong physicalAddress(long address) {
    if (within(address, textBase, imageSize)) {
      return OptionalLong.of(physicalLoadAddress + (address - textBase));
    }
    if (within(address, pageOffsetBase, directMapSize())) {
      return OptionalLong.of(address - pageOffsetBase);
    }
    return OptionalLong.empty();
  }

  /** Per-CPU base of CPU {@code cpu}, when recorded. */
  public Optional<Long> perCpuBase(int cpu) {
    return cpu >= 0 && cpu < perCpuBases.size() ? Optional.of(perCpuBases.get(cpu)) : Optional.empty();
  }

  private static boolean within(long address, long base, long size) {
    return Long.compareUnsigned(address - base, size) < 0;
  }
}
