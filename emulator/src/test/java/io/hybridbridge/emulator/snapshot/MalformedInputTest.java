package io.hybridbridge.emulator.snapshot;

import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.BAD_HEADER;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.BAD_NOTES;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.BAD_RANGES;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.TOO_LARGE;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.TRUNCATED;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.WRONG_ARCHITECTURE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.emulator.memory.MemoryAccessException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile containers: each is refused with a specific checked error. */
class MalformedInputTest {
  private static final long[][] RANGES = {{0, 4}, {16, 3}};

  @TempDir
  Path dir;

  private SnapshotFormatException.Reason reasonOpening(byte[] content) throws Exception {
    Path p = SyntheticDumps.write(dir, "s" + System.nanoTime(), content);
    try (Snapshot s = Snapshots.open(p)) {
      throw new AssertionError("opened " + s.format() + " from a malformed file");
    } catch (SnapshotFormatException e) {
      assertThat(e.getMessage()).contains(p.toString());
      return e.reason();
    }
  }

  private static ByteBuffer le(byte[] b) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }

  private static byte[] elf() {
    return SyntheticDumps.elf(SyntheticDumps.standardNotes(), RANGES);
  }

  @Test
  void truncatedElfAtEveryInterestingLength() throws Exception {
    byte[] elf = elf();
    assertThat(reasonOpening(Arrays.copyOf(elf, 40))).isEqualTo(TRUNCATED);       // inside the ELF header
    assertThat(reasonOpening(Arrays.copyOf(elf, 100))).isEqualTo(TRUNCATED);      // inside the program headers
    assertThat(reasonOpening(Arrays.copyOf(elf, 300))).isEqualTo(TRUNCATED);      // inside the notes
    assertThat(reasonOpening(Arrays.copyOf(elf, elf.length - 1))).isEqualTo(TRUNCATED); // last page cut
  }

  @Test
  void elfForAnotherMachineOrWordSize() throws Exception {
    byte[] arm = elf();
    le(arm).putShort(18, (short) 183); // EM_AARCH64
    assertThat(reasonOpening(arm)).isEqualTo(WRONG_ARCHITECTURE);
    byte[] elf32 = elf();
    elf32[4] = 1;
    assertThat(reasonOpening(elf32)).isEqualTo(WRONG_ARCHITECTURE);
    byte[] bigEndian = elf();
    bigEndian[5] = 2;
    assertThat(reasonOpening(bigEndian)).isEqualTo(WRONG_ARCHITECTURE);
  }

  @Test
  void elfHeadersPointingPastTheEnd() throws Exception {
    byte[] phoff = elf();
    le(phoff).putLong(32, 1L << 40);
    assertThat(reasonOpening(phoff)).isEqualTo(TRUNCATED);
    byte[] segment = elf();
    le(segment).putLong(64 + 56 + 8, Long.MAX_VALUE - 10); // PT_LOAD p_offset
    assertThat(reasonOpening(segment)).isEqualTo(TRUNCATED);
    byte[] huge = elf();
    le(huge).putShort(56, (short) 0xffff).putLong(40, 1L << 50); // PN_XNUM, section header nowhere
    assertThat(reasonOpening(huge)).isEqualTo(TRUNCATED);
  }

  @Test
  void overlappingAndWrappingRanges() throws Exception {
    byte[] overlap = elf();
    le(overlap).putLong(64 + 2 * 56 + 24, 2 * 4096); // second PT_LOAD p_paddr inside the first
    assertThat(reasonOpening(overlap)).isEqualTo(BAD_RANGES);
    byte[] wrap = elf();
    le(wrap).putLong(64 + 56 + 24, -4096); // p_paddr at the top of the address space
    assertThat(reasonOpening(wrap)).isEqualTo(BAD_RANGES);
  }

  @Test
  void malformedNotes() throws Exception {
    byte[] longDesc = SyntheticDumps.note("QEMU", 0, SyntheticDumps.qemuNote(0, 0, 0x10, 0, 0));
    le(longDesc).putInt(4, 1 << 30);
    assertThat(reasonOpening(SyntheticDumps.elf(longDesc, RANGES))).isEqualTo(BAD_NOTES);
    byte[] shortQemu = SyntheticDumps.note("QEMU", 0, new byte[100]);
    assertThat(reasonOpening(SyntheticDumps.elf(shortQemu, RANGES))).isEqualTo(BAD_NOTES);
    byte[] version = SyntheticDumps.qemuNote(0, 0, 0x10, 0, 0);
    le(version).putInt(0, 7);
    assertThat(reasonOpening(SyntheticDumps.elf(SyntheticDumps.note("QEMU", 0, version), RANGES)))
        .isEqualTo(BAD_NOTES);
  }

  @Test
  void missingNotesIsNotAnErrorButLeavesNoCpuState() throws Exception {
    try (Snapshot s = Snapshots.open(SyntheticDumps.write(dir, "n", SyntheticDumps.elf(new byte[0], RANGES)))) {
      assertThat(s.cpus()).isEmpty();
    }
  }

  @Test
  void limeWithBadRangesOrCounts() throws Exception {
    byte[] lime = SyntheticDumps.lime(RANGES);
    byte[] inverted = lime.clone();
    le(inverted).putLong(8, 1L << 20).putLong(16, 4096); // first > last
    assertThat(reasonOpening(inverted)).isEqualTo(BAD_RANGES);
    byte[] past = lime.clone();
    le(past).putLong(16, 1L << 40);
    assertThat(reasonOpening(past)).isEqualTo(TRUNCATED);
    byte[] magic = lime.clone();
    le(magic).putInt(32 + 4 * 4096, 0x12345678); // second header
    assertThat(reasonOpening(magic)).isEqualTo(BAD_HEADER);
    ByteBuffer many = ByteBuffer.allocate(33 * (LimeReader.MAX_RANGES + 1)).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i <= LimeReader.MAX_RANGES; i++) { // one-byte ranges, back to back
      many.putInt(LimeReader.MAGIC).putInt(1).putLong(i * 2L).putLong(i * 2L).putLong(0).put((byte) i);
    }
    assertThat(reasonOpening(many.array())).isEqualTo(TOO_LARGE);
  }

  private static byte[] kdump() {
    return SyntheticDumps.kdump(SyntheticDumps.standardNotes(), RANGES, 32, List.of());
  }

  @Test
  void kdumpHeaderFields() throws Exception {
    byte[] machine = kdump();
    System.arraycopy("aarch64\0".getBytes(), 0, machine, 12 + 4 * 65, 8);
    assertThat(reasonOpening(machine)).isEqualTo(WRONG_ARCHITECTURE);
    byte[] frames = kdump();
    le(frames).putLong(4096 + 96, Long.MAX_VALUE);
    assertThat(reasonOpening(frames)).isEqualTo(TOO_LARGE);
    byte[] bitmap = kdump();
    le(bitmap).putInt(436, 0x7ffffffe); // bitmap blocks far past the end
    assertThat(reasonOpening(bitmap)).isEqualTo(TRUNCATED);
    byte[] notes = kdump();
    le(notes).putLong(4096 + 56, 1L << 40);
    assertThat(reasonOpening(notes)).isEqualTo(TOO_LARGE);
    assertThat(reasonOpening(Arrays.copyOf(kdump(), 300))).isEqualTo(TRUNCATED);
    byte[] whole = kdump();
    assertThat(reasonOpening(Arrays.copyOf(whole, whole.length - 1))).isEqualTo(TRUNCATED); // last page's data cut
  }

  @Test
  void kdumpPagesThatDoNotInflateAreReadErrors() throws Exception {
    byte[] k = kdump();
    int descriptors = 4096 * (1 + 1 + 2); // header, sub-header, two bitmap blocks
    long firstData = le(k).getLong(descriptors + 24); // frame 1 (frame 0's data is first after the zero page)
    k[(int) firstData + 5] ^= 0x55;
    k[(int) firstData + 6] ^= 0x55;
    Path p = SyntheticDumps.write(dir, "bad-zlib", k);
    try (Snapshot s = Snapshots.open(p)) {
      assertThatThrownBy(() -> s.readPage(1, new byte[4096], 0)).isInstanceOf(MemoryAccessException.class)
          .hasMessageContaining("0x1000");
      s.readPage(2, new byte[4096], 0); // other pages still read
    }
    byte[] wild = kdump();
    le(wild).putLong(descriptors + 2 * 24, 1L << 50); // frame 2's data offset
    try (Snapshot s = Snapshots.open(SyntheticDumps.write(dir, "wild", wild))) {
      assertThatThrownBy(() -> s.readPage(2, new byte[4096], 0)).isInstanceOf(MemoryAccessException.class)
          .hasMessageContaining("outside the file");
    }
  }

  @Test
  void flattenedStreamClaimingAHugeSparseFileIsRefusedBeforeAnyWork() throws Exception {
    byte[] k = kdump();
    le(k).putLong(4096 + 96, 1L << 36).putInt(436, 0x7ffffffe); // 2^36 frames, bitmaps "covering" them
    byte[] flat = SyntheticDumps.flatten(k, 4096);
    // One more record far away makes the logical file huge (and all zeros in between).
    byte[] far = ByteBuffer.allocate(17).putLong(1L << 45).putLong(1).put((byte) 1).array();
    byte[] withFar = SyntheticDumps.concat(Arrays.copyOf(flat, flat.length - 16), far,
        Arrays.copyOfRange(flat, flat.length - 16, flat.length));
    assertThat(reasonOpening(withFar)).isEqualTo(TOO_LARGE);
  }

  @Test
  void flattenedStreamsWithoutEndOrWithAbsurdRecords() throws Exception {
    byte[] flat = SyntheticDumps.flatten(kdump(), 4096);
    assertThat(reasonOpening(Arrays.copyOf(flat, flat.length - 16))).isEqualTo(TRUNCATED);
    byte[] negative = flat.clone();
    ByteBuffer.wrap(negative).putLong(4096 + 8, -5);
    assertThat(reasonOpening(negative)).isEqualTo(BAD_HEADER);
    byte[] type = flat.clone();
    ByteBuffer.wrap(type).putLong(16, 2);
    assertThat(reasonOpening(type)).isEqualTo(BAD_HEADER);
  }
}
