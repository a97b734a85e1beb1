package io.hybridbridge.emulator.snapshot;

/** A run of guest-physical memory present in a snapshot: {@code [start, start + length)}. */
public record PhysicalRange(long start, long length) {
  public long end() {
    return start + length;
  }

  @Override
  public String toString() {
    return String.format("%#x-%#x", start, end());
  }
}
