package io.hybridbridge.emulator.snapshot;

import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.BAD_HEADER;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.BAD_RANGES;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.TOO_LARGE;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.TRUNCATED;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The makedumpfile "flattened" stream (what QEMU ≤ 8.1 writes for {@code kdump-zlib}, and makedumpfile with
 * {@code -F}), presented as the file {@code makedumpfile -R} would reassemble: a 4 KiB header ("makedumpfile",
 * type 1, version 1, big-endian), then records of (big-endian i64 offset, i64 size, bytes), ended by offset -1.
 *
 * <p>Only an index of the records is kept (20 bytes per record; QEMU writes one per 16 KiB of output). Bytes of
 * the logical file that no record wrote read as zeros, as in the sparse reassembled file.
 */
final class FlattenedByteSource implements ByteSource {
  static final byte[] SIGNATURE = "makedumpfile".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER_SIZE = 4096;
  private static final int RECORD_HEADER = 16;
  /** 4 M records ≈ 64 GiB of QEMU output; refused beyond, before the index grows without bound. */
  static final int MAX_RECORDS = 1 << 22;

  private final ByteSource file;
  private final long[] logicalStart;
  private final long[] filePosition;
  private final int[] length;
  private final long size;

  private FlattenedByteSource(ByteSource file, long[] logicalStart, long[] filePosition, int[] length, long size) {
    this.file = file;
    this.logicalStart = logicalStart;
    this.filePosition = filePosition;
    this.length = length;
    this.size = size;
  }

  static FlattenedByteSource index(ByteSource file) throws IOException, SnapshotFormatException {
    String name = file.name();
    if (file.size() < HEADER_SIZE) {
      throw new SnapshotFormatException(TRUNCATED, name + ": flattened kdump header needs " + HEADER_SIZE + " bytes");
    }
    ByteBuffer h = file.read(0, 32).order(ByteOrder.BIG_ENDIAN);
    long type = h.getLong(16);
    long version = h.getLong(24);
    if (type != 1 || version != 1) {
      throw new SnapshotFormatException(BAD_HEADER, name + ": flattened kdump type " + type + " version " + version
          + " (only 1/1 is known)");
    }
    long[] starts = new long[1024];
    long[] positions = new long[1024];
    int[] lengths = new int[1024];
    int n = 0;
    long pos = HEADER_SIZE;
    long end = 0;
    while (true) {
      if (!file.contains(pos, RECORD_HEADER)) {
        throw new SnapshotFormatException(TRUNCATED, String.format(
            "%s: flattened kdump ends at offset %d without its end marker (record %d)", name, pos, n));
      }
      ByteBuffer r = file.read(pos, RECORD_HEADER).order(ByteOrder.BIG_ENDIAN);
      long offset = r.getLong(0);
      long count = r.getLong(8);
      if (offset == -1) {
        break;
      }
      if (offset < 0 || count < 0 || count > Integer.MAX_VALUE || offset + count < 0) {
        throw new SnapshotFormatException(BAD_HEADER, String.format(
            "%s: flattened record %d at offset %d has offset %d and size %d", name, n, pos, offset, count));
      }
      if (!file.contains(pos + RECORD_HEADER, count)) {
        throw new SnapshotFormatException(TRUNCATED, String.format(
            "%s: flattened record %d (%d bytes at offset %d) is cut off by the end of the file", name, n, count, pos));
      }
      if (count == 0) { // writes nothing; dropping it keeps record starts strictly increasing
        pos += RECORD_HEADER;
        continue;
      }
      if (n == MAX_RECORDS) {
        throw new SnapshotFormatException(TOO_LARGE, name + ": more than " + MAX_RECORDS + " flattened records");
      }
      if (n == starts.length) {
        starts = Arrays.copyOf(starts, n * 2);
        positions = Arrays.copyOf(positions, n * 2);
        lengths = Arrays.copyOf(lengths, n * 2);
      }
      starts[n] = offset;
      positions[n] = pos + RECORD_HEADER;
      lengths[n] = (int) count;
      n++;
      end = Math.max(end, offset + count);
      pos += RECORD_HEADER + count;
    }
    return sorted(file, Arrays.copyOf(starts, n), Arrays.copyOf(positions, n), Arrays.copyOf(lengths, n), end);
  }

  private static FlattenedByteSource sorted(ByteSource file, long[] starts, long[] positions, int[] lengths, long end)
      throws SnapshotFormatException {
    Integer[] order = new Integer[starts.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Long.compare(starts[a], starts[b]));
    long[] s = new long[order.length];
    long[] p = new long[order.length];
    int[] l = new int[order.length];
    for (int i = 0; i < order.length; i++) {
      s[i] = starts[order[i]];
      p[i] = positions[order[i]];
      l[i] = lengths[order[i]];
      if (i > 0 && s[i] < s[i - 1] + l[i - 1]) {
        throw new SnapshotFormatException(BAD_RANGES, String.format(
            "%s: flattened records overlap at logical offset %d", file.name(), s[i]));
      }
    }
    return new FlattenedByteSource(file, s, p, l, end);
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public String name() {
    return file.name();
  }

  @Override
  public void readFully(long position, byte[] dst, int offset, int count) throws IOException {
    if (!contains(position, count)) {
      throw new EOFException(String.format("%s: read of %d bytes at logical offset %d is past the end (%d bytes)",
          name(), count, position, size));
    }
    while (count > 0) {
      int i = Arrays.binarySearch(logicalStart, position);
      if (i < 0) {
        i = -i - 2; // the last record starting before position
      }
      int n;
      if (i >= 0 && position < logicalStart[i] + length[i]) {
        n = (int) Math.min(count, logicalStart[i] + length[i] - position);
        file.readFully(filePosition[i] + (position - logicalStart[i]), dst, offset, n);
      } else { // no record wrote these bytes: zeros up to the next record
        long gapEnd = i + 1 < logicalStart.length ? logicalStart[i + 1] : size;
        n = (int) Math.min(count, gapEnd - position);
        Arrays.fill(dst, offset, offset + n, (byte) 0);
      }
      position += n;
      offset += n;
      count -= n;
    }
  }

  @Override
  public void close() throws IOException {
    file.close();
  }
}
