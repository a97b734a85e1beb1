package io.hybridbridge.emulator.memory;

/** Builds x86-64 page tables in a {@link SparseMemory}, allocating table pages from a bump pointer. */
public final class PageTables {
  public static final long P = 1;
  public static final long RW = 2;
  public static final long US = 4;
  public static final long PS = 0x80;
  public static final long NX = 1L << 63;

  private final SparseMemory memory;
  private final int levels;
  private long nextTable;
  public final long root;

  public PageTables(SparseMemory memory, int levels, long firstTablePage) {
    this.memory = memory;
    this.levels = levels;
    this.nextTable = firstTablePage;
    this.root = allocate();
  }

  private long allocate() {
    long t = nextTable;
    nextTable += PhysicalMemory.PAGE_SIZE;
    memory.page(t >>> 12);
    return t;
  }

  private long entry(long table, long va, int level) {
    return table + (((va >>> (12 + 9 * (level - 1))) & 511) << 3);
  }

  private long read(long address) {
    try {
      return memory.readLong(address);
    } catch (MemoryAccessException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Maps one page of {@code size} (4 KiB, 2 MiB, 1 GiB) with leaf {@code flags} (intermediate levels get P|RW|US). */
  public PageTables map(long va, long pa, long size, long flags) {
    int leafLevel = size == 1L << 30 ? 3 : size == 1L << 21 ? 2 : 1;
    long table = root;
    for (int level = levels; level > leafLevel; level--) {
      long e = entry(table, va, level);
      long value = read(e);
      if ((value & P) == 0) {
        value = allocate() | P | RW | US;
        memory.putLong(e, value);
      }
      table = value & 0x000f_ffff_ffff_f000L;
    }
    memory.putLong(entry(table, va, leafLevel), pa | flags | (leafLevel > 1 ? PS : 0));
    return this;
  }

  /** Maps {@code [va, va+length)} to {@code pa} with pages of {@code size}. */
  public PageTables mapRange(long va, long pa, long length, long size, long flags) {
    for (long off = 0; off < length; off += size) {
      map(va + off, pa + off, size, flags);
    }
    return this;
  }

  /** Writes a raw entry at {@code level} for {@code va} in the root table (for hostile-table tests). */
  public void putRootEntry(long va, long value) {
    memory.putLong(entry(root, va, levels), value);
  }
}
