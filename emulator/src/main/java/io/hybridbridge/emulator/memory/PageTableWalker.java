package io.hybridbridge.emulator.memory;

import io.hybridbridge.emulator.memory.PageFaultException.Kind;

/**
 * x86-64 page-table walk over a {@link PhysicalMemory}: 4-level or 5-level (LA57), 1 GiB and 2 MiB pages,
 * present / writable / user / NX bits combined over all levels, architectural error codes.
 *
 * <p>A walk reads at most one entry per level, so it always ends: a table that points at itself, or at memory
 * the image does not hold, ends in a {@link PageFaultException} (kind {@link Kind#TABLE_OUTSIDE_IMAGE} for the
 * latter), never in a hang. Immutable and safe to share between threads.
 */
public final class PageTableWalker implements AddressTranslator {
  private static final long P = 1;
  private static final long RW = 1 << 1;
  private static final long US = 1 << 2;
  private static final long PS = 1 << 7;
  private static final long NX = 1L << 63;
  /** Bits 12..51 of a table entry: the next table's (or 4 KiB page's) physical address. */
  private static final long ADDRESS = 0x000f_ffff_ffff_f000L;
  static final long GIB = 1L << 30;
  static final long MIB2 = 1L << 21;

  private final PhysicalMemory memory;
  private final long root;
  private final int levels;
  private final boolean writeProtect;

  /**
   * @param root physical address of the top-level table (CR3 with its low 12 bits cleared)
   * @param levels 4, or 5 when CR4.LA57 is set
   * @param writeProtect CR0.WP: supervisor writes to read-only pages fault (Linux sets it)
   */
  public PageTableWalker(PhysicalMemory memory, long root, int levels, boolean writeProtect) {
    if (levels != 4 && levels != 5) {
      throw new IllegalArgumentException("paging levels must be 4 or 5, not " + levels);
    }
    this.memory = memory;
    this.root = root & ADDRESS;
    this.levels = levels;
    this.writeProtect = writeProtect;
  }

  public long root() {
    return root;
  }

  public int levels() {
    return levels;
  }

  /** Supervisor-mode translation (what the kernel's own accesses need). */
  @Override
  public long toPhysical(long virtualAddress, Access access) throws PageFaultException {
    return toPhysical(virtualAddress, access, false);
  }

  public long toPhysical(long virtualAddress, Access access, boolean userMode) throws PageFaultException {
    return walk(virtualAddress, access, userMode).toPhysical(virtualAddress);
  }

  /** Walks the tables for {@code virtualAddress}, checking {@code access} as a CPU in the given mode would. */
  public Mapping walk(long virtualAddress, Access access, boolean userMode) throws PageFaultException {
    int code = (access == Access.WRITE ? PageFaultException.WRITE : 0)
        | (userMode ? PageFaultException.USER : 0)
        | (access == Access.EXECUTE ? PageFaultException.INSTRUCTION : 0);
    int vaBits = 12 + 9 * levels;
    if ((virtualAddress << (64 - vaBits) >> (64 - vaBits)) != virtualAddress) {
      throw new PageFaultException(String.format("%#x is not a canonical %d-bit address", virtualAddress, vaBits),
          virtualAddress, code, Kind.NON_CANONICAL);
    }
    long table = root;
    boolean writable = true;
    boolean user = true;
    boolean executable = true;
    for (int level = levels; level >= 1; level--) {
      int shift = 12 + 9 * (level - 1);
      long entryAddress = table + (((virtualAddress >>> shift) & 511) << 3);
      long entry;
      try {
        entry = memory.readLong(entryAddress);
      } catch (MemoryAccessException e) {
        throw new PageFaultException(String.format(
            "translating %#x: level-%d table at physical %#x is not in the image", virtualAddress, level, table),
            virtualAddress, code | PageFaultException.RESERVED, Kind.TABLE_OUTSIDE_IMAGE);
      }
      if ((entry & P) == 0) {
        throw new PageFaultException(String.format("%#x is not mapped (level-%d entry %#x at physical %#x)",
            virtualAddress, level, entry, entryAddress), virtualAddress, code, Kind.NOT_PRESENT);
      }
      writable &= (entry & RW) != 0;
      user &= (entry & US) != 0;
      executable &= (entry & NX) == 0;
      boolean large = (entry & PS) != 0;
      if (large && level > 3) {
        throw new PageFaultException(String.format("translating %#x: level-%d entry %#x sets the reserved PS bit",
            virtualAddress, level, entry), virtualAddress, code | PageFaultException.PRESENT | PageFaultException.RESERVED,
            Kind.RESERVED_BIT);
      }
      if (level == 1 || large) {
        long size = 1L << shift;
        long physical = entry & ADDRESS & ~(size - 1); // for large pages bit 12 is PAT, not address
        Mapping mapping = new Mapping(virtualAddress & ~(size - 1), physical, size, writable, user, executable);
        check(mapping, virtualAddress, access, userMode, code);
        return mapping;
      }
      table = entry & ADDRESS;
    }
    throw new AssertionError("unreachable: level 1 always returns");
  }

  private void check(Mapping m, long virtualAddress, Access access, boolean userMode, int code)
      throws PageFaultException {
    String denied = null;
    if (userMode && !m.user()) {
      denied = "a supervisor page accessed from user mode";
    } else if (access == Access.WRITE && !m.writable() && (userMode || writeProtect)) {
      denied = "a write to a read-only page";
    } else if (access == Access.EXECUTE && !m.executable()) {
      denied = "an instruction fetch from a no-execute page";
    }
    if (denied != null) {
      throw new PageFaultException(String.format("%#x: %s", virtualAddress, denied), virtualAddress,
          code | PageFaultException.PRESENT, Kind.PROTECTION);
    }
  }

  /** The mapping of {@code virtualAddress} ignoring permissions, or null when it is not mapped. */
  public Mapping lookup(long virtualAddress) {
    try {
      return walk(virtualAddress, Access.READ, false);
    } catch (PageFaultException e) {
      return null;
    }
  }

  /** Receives the mappings of a {@link #scan}, in address order; returns false to stop. */
  @FunctionalInterface
  public interface MappingVisitor {
    boolean visit(Mapping mapping);
  }

  /**
   * Visits every present leaf mapping that overlaps {@code [from, to]} (inclusive bounds, canonical addresses),
   * in address order, with the permissions of all levels combined. Tables the image does not hold are skipped.
   *
   * @param maxTables how many tables the scan may read before it gives up (hostile tables can fan out without
   *     end: a table whose every entry points at itself spans 512^levels leaves)
   * @throws MemoryAccessException when the budget runs out before the scan or the visitor ends it
   */
  public void scan(long from, long to, int maxTables, MappingVisitor visitor) throws MemoryAccessException {
    int[] budget = {maxTables};
    scanTable(root, levels, 0, from, to, budget, visitor, RW | US);
  }

  /** {@code inherited}: RW and US if every level above allows them, NX if any level above sets it. */
  private boolean scanTable(long table, int level, long prefix, long from, long to, int[] budget,
      MappingVisitor visitor, long inherited) throws MemoryAccessException {
    if (budget[0]-- <= 0) {
      throw new MemoryAccessException(String.format(
          "page-table scan of %#x..%#x read too many tables (loop or absurd entries?)", from, to), from);
    }
    byte[] page = new byte[PhysicalMemory.PAGE_SIZE];
    try {
      memory.readPage(table >>> PhysicalMemory.PAGE_SHIFT, page, 0);
    } catch (MemoryAccessException e) {
      return true; // a table outside the image maps nothing we can read
    }
    java.nio.LongBuffer entries = java.nio.ByteBuffer.wrap(page).order(java.nio.ByteOrder.LITTLE_ENDIAN).asLongBuffer();
    int shift = 12 + 9 * (level - 1);
    int vaBits = 12 + 9 * levels;
    for (int i = 0; i < 512; i++) {
      long unextended = prefix | ((long) i << shift);
      long base = unextended << (64 - vaBits) >> (64 - vaBits); // sign-extend to canonical
      long last = base + (1L << shift) - 1;
      if (Long.compareUnsigned(last, from) < 0 || Long.compareUnsigned(base, to) > 0) {
        continue;
      }
      long entry = entries.get(i);
      if ((entry & P) == 0) {
        continue;
      }
      long effective = (inherited & entry & (RW | US)) | ((inherited | entry) & NX);
      boolean large = (entry & PS) != 0 && level <= 3;
      if (level == 1 || large) {
        long size = 1L << shift;
        Mapping m = new Mapping(base, entry & ADDRESS & ~(size - 1), size, (effective & RW) != 0,
            (effective & US) != 0, (effective & NX) == 0);
        if (!visitor.visit(m)) {
          return false;
        }
      } else if ((entry & PS) == 0
          && !scanTable(entry & ADDRESS, level - 1, unextended, from, to, budget, visitor, effective)) {
        return false;
      }
    }
    return true;
  }
}
