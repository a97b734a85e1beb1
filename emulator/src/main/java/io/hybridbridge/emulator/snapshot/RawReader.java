package io.hybridbridge.emulator.snapshot;

import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.UNKNOWN_FORMAT;

import java.util.List;
import java.util.Optional;

/**
 * A raw physical image: byte {@code i} of the file is guest-physical address {@code i}. It has no magic, so it is
 * what a file is taken for when no other format matches and its size is a whole number of pages; CPU state comes
 * from an optional {@link CpuSidecar}.
 */
final class RawReader {
  private RawReader() {}

  static Snapshot open(ByteSource source, List<CpuState> cpus) throws SnapshotFormatException {
    if (source.size() == 0 || source.size() % Snapshot.PAGE_SIZE != 0) {
      throw new SnapshotFormatException(UNKNOWN_FORMAT, String.format(
          "%s: not an ELF core, kdump or LiME file, and its size (%d bytes) is not a whole number of 4 KiB pages "
              + "as a raw physical image would be", source.name(), source.size()));
    }
    SegmentTable table = new SegmentTable.Builder().add(0, source.size(), 0).build(source);
    return new SegmentSnapshot(source, ContainerFormat.RAW, table, cpus, Optional.empty());
  }
}
