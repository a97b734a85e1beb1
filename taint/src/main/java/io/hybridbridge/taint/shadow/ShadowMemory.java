package io.hybridbridge.taint.shadow;

import java.util.HashMap;
import java.util.Map;

/**
 * The byte-granular shadow of the trusted kernel's memory (DESIGN §5.3: "T memory has a shadow"): one bit per
 * byte of guest-virtual address space, kept per 4 KiB page as a 64-word bitmap that exists only once a tainted
 * byte was stored there. Keyed by virtual address: the kernel reaches each object through one mapping (slab
 * and page-table data through the direct map, stacks through vmalloc), so aliases do not matter in practice. Each
 * page also has one bit per aligned qword: whether it holds a pointer that came from U.
 */
final class ShadowMemory {
  private static final int PAGE_SHIFT = 12;
  private static final int PAGE = 1 << PAGE_SHIFT;
  private static final int CACHE = 64;
  /** After the 64 byte-bitmap words: one bit per aligned qword slot, "holds a pointer from U". */
  private static final int SLOT_WORDS = PAGE / 8 / 64;
  private static final int SLOT_BASE = PAGE / 64;

  private final Map<Long, long[]> pages = new HashMap<>();
  /** A small direct-mapped cache of page number → bitmap (null bitmap cached as absent is not kept). */
  private final long[] cachedPage = new long[CACHE];
  private final long[][] cachedBits = new long[CACHE][];

  ShadowMemory() {
    java.util.Arrays.fill(cachedPage, -1);
  }

  /** Shadow of {@code size} (1..8) bytes at {@code address}: bit i for byte i. */
  long get(long address, int size) {
    int offset = (int) address & (PAGE - 1);
    if (offset + size > PAGE) {
      int first = PAGE - offset;
      return get(address, first) | get(address + first, size - first) << first;
    }
    long[] bits = bitmap(address >>> PAGE_SHIFT, false);
    if (bits == null) {
      return 0;
    }
    return extract(bits, offset, size);
  }

  /** Sets the shadow of {@code size} (1..8) bytes at {@code address} to the low {@code size} bits of {@code shadow}. */
  void set(long address, int size, long shadow) {
    int offset = (int) address & (PAGE - 1);
    if (offset + size > PAGE) {
      int first = PAGE - offset;
      set(address, first, shadow);
      set(address + first, size - first, shadow >>> first);
      return;
    }
    long mask = size == 8 ? 0xff : (1L << size) - 1;
    shadow &= mask;
    long[] bits = bitmap(address >>> PAGE_SHIFT, shadow != 0);
    if (bits == null) {
      return; // clean bytes stored into a page without tainted bytes: nothing to record
    }
    int word = offset >>> 6;
    int bit = offset & 63;
    bits[word] = (bits[word] & ~(mask << bit)) | (shadow << bit);
    if (bit + size > 64) {
      int spill = bit + size - 64;
      long high = (1L << spill) - 1;
      bits[word + 1] = (bits[word + 1] & ~high) | (shadow >>> (64 - bit));
    }
  }

  /** Whether the aligned qword at {@code address} holds a pointer loaded from U (see {@link TaintShadow}). */
  boolean pointerAt(long address) {
    long[] bits = bitmap(address >>> PAGE_SHIFT, false);
    if (bits == null) {
      return false;
    }
    int slot = ((int) address & (PAGE - 1)) >>> 3;
    return (bits[SLOT_BASE + (slot >>> 6)] >>> (slot & 63) & 1) != 0;
  }

  /** Marks or clears the pointer bit of the qword slot holding {@code address}. */
  void setPointer(long address, boolean pointer) {
    long[] bits = bitmap(address >>> PAGE_SHIFT, pointer);
    if (bits == null) {
      return;
    }
    int slot = ((int) address & (PAGE - 1)) >>> 3;
    long bit = 1L << (slot & 63);
    int word = SLOT_BASE + (slot >>> 6);
    bits[word] = pointer ? bits[word] | bit : bits[word] & ~bit;
  }

  /** Pages holding at least one tainted byte at some point. */
  int pageCount() {
    return pages.size();
  }

  void clear() {
    pages.clear();
    java.util.Arrays.fill(cachedPage, -1);
    java.util.Arrays.fill(cachedBits, null);
  }

  private static long extract(long[] bits, int offset, int size) {
    int word = offset >>> 6;
    int bit = offset & 63;
    long mask = size == 8 ? 0xff : (1L << size) - 1;
    long v = bits[word] >>> bit;
    if (bit + size > 64) {
      v |= bits[word + 1] << (64 - bit);
    }
    return v & mask;
  }

  private long[] bitmap(long page, boolean create) {
    int slot = (int) page & (CACHE - 1);
    if (cachedPage[slot] == page) {
      return cachedBits[slot];
    }
    long[] bits = pages.get(page);
    if (bits == null) {
      if (!create) {
        return null;
      }
      bits = new long[PAGE / 64 + SLOT_WORDS];
      pages.put(page, bits);
    }
    cachedPage[slot] = page;
    cachedBits[slot] = bits;
    return bits;
  }
}
