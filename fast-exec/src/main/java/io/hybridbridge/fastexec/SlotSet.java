package io.hybridbridge.fastexec;

import java.util.Arrays;

/**
 * A set of decision-table slots, emptied in constant time: a slot is in it when its stamp is the current one. A fast
 * path keeps one from an inspection to the next, so that counting an inspection's redirected instructions allocates
 * nothing (a new array per inspection cost the small tools more than their instructions did).
 */
final class SlotSet {
  private int[] stamps = new int[0];
  private int stamp;

  /** Empties the set and makes room for the slots below {@code capacity}. */
  void clear(int capacity) {
    if (stamps.length < capacity) {
      stamps = new int[capacity];
      stamp = 0;
    }
    if (++stamp == 0) { // 2^32 clears: stamps of long ago would count as current
      Arrays.fill(stamps, 0);
      stamp = 1;
    }
  }

  /** Adds {@code slot}; true if it was not in the set. */
  boolean add(int slot) {
    if (stamps[slot] == stamp) {
      return false;
    }
    stamps[slot] = stamp;
    return true;
  }
}
