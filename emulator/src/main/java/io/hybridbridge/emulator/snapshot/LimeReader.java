package io.hybridbridge.emulator.snapshot;

import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.BAD_HEADER;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.BAD_RANGES;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.TOO_LARGE;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.TRUNCATED;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Optional;

/**
 * LiME ("lime" format of the LiME loadable module): a sequence of 32-byte range headers (u32 magic "EMiL",
 * u32 version 1, u64 first address, u64 last address inclusive, 8 reserved bytes), each followed by its bytes.
 */
final class LimeReader {
  static final int MAGIC = 0x4C694D45;
  private static final int HEADER_SIZE = 32;
  /** Real LiME files hold one range per RAM region: a few to a few hundred. */
  static final int MAX_RANGES = 1 << 16;

  private LimeReader() {}

  static Snapshot open(ByteSource source) throws IOException, SnapshotFormatException {
    String name = source.name();
    SegmentTable.Builder segments = new SegmentTable.Builder();
    long pos = 0;
    int count = 0;
    while (pos < source.size()) {
      if (!source.contains(pos, HEADER_SIZE)) {
        throw new SnapshotFormatException(TRUNCATED, String.format(
            "%s: LiME range header %d at offset %d is cut off by the end of the file", name, count, pos));
      }
      ByteBuffer h = source.read(pos, HEADER_SIZE);
      if (h.getInt(0) != MAGIC) {
        throw new SnapshotFormatException(BAD_HEADER, String.format(
            "%s: LiME range header %d at offset %d has magic %#x, not %#x", name, count, pos, h.getInt(0), MAGIC));
      }
      int version = h.getInt(4);
      if (version != 1) {
        throw new SnapshotFormatException(BAD_HEADER, name + ": LiME version " + version + " (only 1 is known)");
      }
      long first = h.getLong(8);
      long last = h.getLong(16);
      if (first < 0 || last < first || last == Long.MAX_VALUE) {
        throw new SnapshotFormatException(BAD_RANGES, String.format(
            "%s: LiME range %d is %#x..%#x", name, count, first, last));
      }
      long length = last - first + 1;
      if (++count > MAX_RANGES) {
        throw new SnapshotFormatException(TOO_LARGE, name + ": more than " + MAX_RANGES + " LiME ranges");
      }
      segments.add(first, length, pos + HEADER_SIZE);
      if (!source.contains(pos + HEADER_SIZE, length)) {
        throw new SnapshotFormatException(TRUNCATED, String.format(
            "%s: LiME range %d (%#x..%#x) needs %d bytes at offset %d, past the end of the file (%d bytes)",
            name, count - 1, first, last, length, pos + HEADER_SIZE, source.size()));
      }
      pos += HEADER_SIZE + length;
    }
    return new SegmentSnapshot(source, ContainerFormat.LIME, segments.build(source), List.of(), Optional.empty());
  }
}
