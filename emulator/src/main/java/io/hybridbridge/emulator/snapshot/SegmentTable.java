package io.hybridbridge.emulator.snapshot;

import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.memory.PhysicalMemory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Guest-physical ranges stored verbatim at known file offsets (ELF PT_LOAD, LiME ranges, a raw image).
 * Validated once when built (inside the file, no overlap, no wrap-around), then served by binary search.
 */
final class SegmentTable {
  private final long[] physStart;
  private final long[] length;
  private final long[] fileOffset;

  private SegmentTable(long[] physStart, long[] length, long[] fileOffset) {
    this.physStart = physStart;
    this.length = length;
    this.fileOffset = fileOffset;
  }

  /** Collects segments, then {@link #build} checks them against the file. */
  static final class Builder {
    private final List<long[]> segments = new ArrayList<>();

    Builder add(long physStart, long length, long fileOffset) {
      if (length > 0) {
        segments.add(new long[] {physStart, length, fileOffset});
      }
      return this;
    }

    SegmentTable build(ByteSource source) throws SnapshotFormatException {
      if (segments.isEmpty()) {
        throw new SnapshotFormatException(SnapshotFormatException.Reason.BAD_RANGES,
            source.name() + ": the snapshot holds no physical memory");
      }
      segments.sort((a, b) -> Long.compareUnsigned(a[0], b[0]));
      int n = segments.size();
      long[] start = new long[n];
      long[] len = new long[n];
      long[] offset = new long[n];
      for (int i = 0; i < n; i++) {
        long[] s = segments.get(i);
        if (s[0] < 0 || s[0] + s[1] < s[0]) {
          throw new SnapshotFormatException(SnapshotFormatException.Reason.BAD_RANGES,
              String.format("%s: physical range %#x+%#x is beyond the 63-bit address space", source.name(), s[0], s[1]));
        }
        if (!source.contains(s[2], s[1])) {
          throw new SnapshotFormatException(SnapshotFormatException.Reason.TRUNCATED,
              String.format("%s: physical range %#x+%#x is stored at file offset %#x, past the end of the file (%d bytes)",
                  source.name(), s[0], s[1], s[2], source.size()));
        }
        if (i > 0 && s[0] < start[i - 1] + len[i - 1]) {
          throw new SnapshotFormatException(SnapshotFormatException.Reason.BAD_RANGES,
              String.format("%s: physical ranges %#x+%#x and %#x+%#x overlap", source.name(),
                  start[i - 1], len[i - 1], s[0], s[1]));
        }
        start[i] = s[0];
        len[i] = s[1];
        offset[i] = s[2];
      }
      return new SegmentTable(start, len, offset);
    }
  }

  List<PhysicalRange> ranges() {
    List<PhysicalRange> ranges = new ArrayList<>();
    for (int i = 0; i < physStart.length; i++) {
      PhysicalRange last = ranges.isEmpty() ? null : ranges.get(ranges.size() - 1);
      if (last != null && last.end() == physStart[i]) {
        ranges.set(ranges.size() - 1, new PhysicalRange(last.start(), last.length() + length[i]));
      } else {
        ranges.add(new PhysicalRange(physStart[i], length[i]));
      }
    }
    return List.copyOf(ranges);
  }

  /** Index of the segment holding {@code address}, or -1. */
  private int find(long address) {
    int i = Arrays.binarySearch(physStart, address);
    if (i < 0) {
      i = -i - 2;
    }
    return i >= 0 && address - physStart[i] < length[i] ? i : -1;
  }

  boolean contains(long address, long count) {
    while (count > 0) {
      int i = find(address);
      if (i < 0) {
        return false;
      }
      long n = Math.min(count, physStart[i] + length[i] - address);
      address += n;
      count -= n;
    }
    return true;
  }

  /** Copies guest-physical bytes, spanning segments when they are adjacent; a gap is an error. */
  void read(ByteSource source, long address, byte[] dst, int offset, int count) throws MemoryAccessException {
    long start = address;
    while (count > 0) {
      int i = find(address);
      if (i < 0) {
        throw new MemoryAccessException(String.format(
            "physical address %#x is not in the snapshot (a hole)", address), address);
      }
      int n = (int) Math.min(count, physStart[i] + length[i] - address);
      try {
        source.readFully(fileOffset[i] + (address - physStart[i]), dst, offset, n);
      } catch (IOException e) {
        throw new MemoryAccessException(String.format(
            "physical address %#x cannot be read from %s: %s", start, source.name(), e.getMessage()), start, e);
      }
      address += n;
      offset += n;
      count -= n;
    }
  }

  boolean hasPage(long pageFrame) {
    return pageFrame >= 0 && pageFrame < (1L << (63 - PhysicalMemory.PAGE_SHIFT))
        && contains(pageFrame << PhysicalMemory.PAGE_SHIFT, PhysicalMemory.PAGE_SIZE);
  }
}
