package io.hybridbridge.emulator.kernel;

import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.memory.PageTableWalker;
import io.hybridbridge.emulator.snapshot.PhysicalRange;
import io.hybridbridge.emulator.snapshot.Snapshot;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which exact kernel binary a snapshot runs: its {@code linux_banner} and GNU build-id, both read from inside the
 * kernel image (RAM holds other "Linux version" copies: log buffer, page cache, command output).
 *
 * @param banner the banner line without its trailing newline, as {@code /proc/version} prints it
 * @param buildId the GNU build-id, lower-case hex
 */
public record KernelIdentity(String banner, String buildId) {
  private static final byte[] BANNER_START = "Linux version ".getBytes(StandardCharsets.US_ASCII);
  private static final Pattern RELEASE = Pattern.compile("^Linux version (\\S+) ");
  private static final Pattern BUILD_NUMBER = Pattern.compile("#\\d");
  private static final int MAX_BANNER = 1024;
  private static final int CHUNK = 1 << 20;
  private static final int NT_GNU_BUILD_ID = 3;

  /** The build name: the release token of the banner, e.g. {@code 6.1.0-53-amd64}. */
  public String buildName() {
    Matcher m = RELEASE.matcher(banner);
    return m.find() ? m.group(1) : "";
  }

  /**
   * Reads the identity from the kernel image that {@code layout} locates: first from its read-only, no-execute
   * mappings (rodata, where both live: a third of the image), then, for kernels without such protections, from the
   * whole image.
   */
  public static KernelIdentity find(Snapshot snapshot, KernelLayout layout) throws KernelAnalysisException {
    String[] found = new String[2]; // banner, build-id
    try {
      for (PhysicalRange range : readOnlyDataOf(snapshot, layout)) {
        scan(snapshot, range, found);
      }
      if (found[0] == null || found[1] == null) {
        scan(snapshot, new PhysicalRange(layout.physicalLoadAddress(), layout.imageSize()), found);
      }
    } catch (MemoryAccessException e) {
      throw new KernelAnalysisException(snapshot.name() + ": the kernel image cannot be read: " + e.getMessage(), e);
    }
    if (found[0] == null) {
      throw new KernelAnalysisException(String.format(
          "%s: no linux_banner (NUL-preceded one-line \"Linux version … #n …\") in the kernel image at physical %#x",
          snapshot.name(), layout.physicalLoadAddress()));
    }
    if (found[1] == null) {
      throw new KernelAnalysisException(snapshot.name() + ": no GNU build-id note in the kernel image of \""
          + found[0] + "\"");
    }
    return new KernelIdentity(found[0], found[1]);
  }

  /** Physical ranges of the image's read-only, no-execute mappings, merged. */
  private static List<PhysicalRange> readOnlyDataOf(Snapshot snapshot, KernelLayout layout)
      throws MemoryAccessException {
    PageTableWalker walker = new PageTableWalker(snapshot, layout.pageTableRoot(), layout.pagingLevels(), true);
    List<PhysicalRange> ranges = new ArrayList<>();
    long text = layout.textBase();
    walker.scan(text, text + layout.imageSize() - 1, 1 << 12, m -> {
      if (!m.writable() && !m.executable() && m.physicalBase() - layout.physicalLoadAddress() == m.virtualBase() - text) {
        PhysicalRange last = ranges.isEmpty() ? null : ranges.get(ranges.size() - 1);
        if (last != null && last.end() == m.physicalBase()) {
          ranges.set(ranges.size() - 1, new PhysicalRange(last.start(), last.length() + m.size()));
        } else {
          ranges.add(new PhysicalRange(m.physicalBase(), m.size()));
        }
      }
      return true;
    });
    return ranges;
  }

  private static void scan(Snapshot snapshot, PhysicalRange range, String[] found) throws MemoryAccessException {
    byte[] buf = new byte[CHUNK + MAX_BANNER];
    for (long at = range.start(); at < range.end() && (found[0] == null || found[1] == null); at += CHUNK) {
      int n = (int) Math.min(buf.length, range.end() - at);
      snapshot.read(at, buf, 0, n);
      // Chunks overlap: a match starting at CHUNK or later is found by the next chunk (at its position 0 for the
      // build-id, which needs no look-behind; the banner needs the byte before it, so it is looked for at 1..CHUNK).
      if (found[0] == null) {
        found[0] = banner(buf, n, Math.min(n, CHUNK + 1));
      }
      if (found[1] == null) {
        found[1] = buildId(snapshot, at, buf, n, Math.min(n, CHUNK));
      }
    }
  }

  private static String banner(byte[] b, int length, int scanEnd) {
    for (int i = 1; i < scanEnd; i++) {
      if (b[i - 1] != 0 || !startsAt(b, i, BANNER_START)) {
        continue;
      }
      int nl = i;
      while (nl < length && nl - i < MAX_BANNER && b[nl] != '\n' && b[nl] != 0) {
        nl++;
      }
      if (nl + 1 < length && b[nl] == '\n' && b[nl + 1] == 0) {
        String line = new String(b, i, nl - i, StandardCharsets.ISO_8859_1);
        if (BUILD_NUMBER.matcher(line).find() && RELEASE.matcher(line).find()) {
          return line;
        }
      }
    }
    return null;
  }

  /**
   * The kernel's own build-id: an ELF note (namesz 4, descsz 1..64, type 3, name "GNU\0") that is not part of an
   * ELF image embedded in the kernel (the vDSOs carry build-id notes of their own inside rodata).
   */
  private static String buildId(Snapshot snapshot, long chunkAddress, byte[] b, int length, int scanEnd)
      throws MemoryAccessException {
    ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i + 16 <= scanEnd; i += 4) { // notes are 4-byte aligned
      if (b[i + 12] != 'G' || b[i + 13] != 'N' || b[i + 14] != 'U' || b[i + 15] != 0) {
        continue;
      }
      int nameSize = le.getInt(i);
      int descSize = le.getInt(i + 4);
      if (nameSize == 4 && le.getInt(i + 8) == NT_GNU_BUILD_ID && descSize > 0 && descSize <= 64
          && i + 16 + descSize <= length && !insideEmbeddedElf(snapshot, chunkAddress + i)) {
        return HexFormat.of().formatHex(b, i + 16, i + 16 + descSize);
      }
    }
    return null;
  }

  /** How far back an embedded image's header may be from one of its notes (a vDSO is a few pages). */
  private static final int EMBEDDED_ELF_REACH_PAGES = 8;

  /** Whether a page-aligned ELF header within reach before {@code note} has a PT_NOTE segment covering it. */
  private static boolean insideEmbeddedElf(Snapshot snapshot, long note) throws MemoryAccessException {
    byte[] header = new byte[64];
    for (int back = 0; back < EMBEDDED_ELF_REACH_PAGES; back++) {
      long start = (note & -Snapshot.PAGE_SIZE) - (long) back * Snapshot.PAGE_SIZE;
      if (start < 0 || !snapshot.hasPage(start >>> Snapshot.PAGE_SHIFT)) {
        return false;
      }
      snapshot.read(start, header, 0, header.length);
      if (header[0] == 0x7f && header[1] == 'E' && header[2] == 'L' && header[3] == 'F') {
        return noteSegmentCovers(snapshot, start, header, note - start);
      }
    }
    return false;
  }

  private static boolean noteSegmentCovers(Snapshot snapshot, long elf, byte[] header, long offset)
      throws MemoryAccessException {
    ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
    boolean is64 = header[4] == 2;
    long phoff = is64 ? h.getLong(32) : Integer.toUnsignedLong(h.getInt(28));
    int phentsize = Short.toUnsignedInt(h.getShort(is64 ? 54 : 42));
    int phnum = Math.min(Short.toUnsignedInt(h.getShort(is64 ? 56 : 44)), 64);
    if (phentsize < (is64 ? 56 : 32) || phoff <= 0 || phoff > EMBEDDED_ELF_REACH_PAGES * Snapshot.PAGE_SIZE) {
      return false;
    }
    byte[] ph = new byte[phentsize];
    for (int i = 0; i < phnum; i++) {
      snapshot.read(elf + phoff + (long) i * phentsize, ph, 0, ph.length);
      ByteBuffer p = ByteBuffer.wrap(ph).order(ByteOrder.LITTLE_ENDIAN);
      long type = Integer.toUnsignedLong(p.getInt(0));
      long fileOffset = is64 ? p.getLong(8) : Integer.toUnsignedLong(p.getInt(4));
      long fileSize = is64 ? p.getLong(32) : Integer.toUnsignedLong(p.getInt(16));
      if (type == 4 && offset >= fileOffset && offset - fileOffset < fileSize) {
        return true;
      }
    }
    return false;
  }

  private static boolean startsAt(byte[] b, int at, byte[] pattern) {
    if (at + pattern.length > b.length) {
      return false;
    }
    for (int i = 0; i < pattern.length; i++) {
      if (b[at + i] != pattern[i]) {
        return false;
      }
    }
    return true;
  }
}
