package io.hybridbridge.taint.layout;

import java.util.Arrays;

/**
 * Remembered shifts of a function that moves every address of a 4 KiB page by the same amount (a {@link LayoutBridge}
 * rule when it is {@link LayoutBridge#pageGranular}; otherwise nothing is remembered): direct-mapped by page, the
 * most recent page of each slot. Not thread-safe: one per {@link UThroughT}.
 */
final class PageShifts {
  /** What {@link #shift} returns for a page it does not hold. */
  static final long NONE = Long.MIN_VALUE;
  private static final int BITS = 8;
  private static final int MASK = (1 << BITS) - 1;

  private final long[] pages = new long[1 << BITS];
  private final long[] shifts = new long[1 << BITS];
  private final boolean byPage;

  /** @param byPage whether the function moves whole pages alike: if not, {@link #remember} remembers nothing */
  PageShifts(boolean byPage) {
    this.byPage = byPage;
    Arrays.fill(pages, -1); // no page number: those of 64-bit addresses have 52 bits
  }

  /** The shift remembered for {@code address}'s page, or {@link #NONE}. */
  long shift(long address) {
    long page = address >>> 12;
    int slot = (int) page & MASK;
    return pages[slot] == page ? shifts[slot] : NONE;
  }

  /** Remembers that {@code address}'s page moves to {@code shifted} - {@code address}; returns {@code shifted}. */
  long remember(long address, long shifted) {
    long shift = shifted - address;
    if (byPage && shift != NONE) {
      long page = address >>> 12;
      int slot = (int) page & MASK;
      pages[slot] = page;
      shifts[slot] = shift;
    }
    return shifted;
  }
}
