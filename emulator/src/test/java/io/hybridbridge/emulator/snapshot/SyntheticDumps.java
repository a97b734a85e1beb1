package io.hybridbridge.emulator.snapshot;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.zip.Deflater;

/**
 * Small synthetic containers for reader unit tests, written from the published layouts (ELF core with QEMU notes,
 * kdump on disk and flattened, LiME). Real snapshots are tested in the dataset tests.
 */
final class SyntheticDumps {
  private SyntheticDumps() {}

  /** Page contents keyed by page frame: each page is filled with a pattern derived from its frame number. */
  static byte[] page(long frame) {
    byte[] p = new byte[4096];
    for (int i = 0; i < p.length; i++) {
      p[i] = (byte) (frame * 31 + i / 7);
    }
    return p;
  }

  static ByteBuffer le(int size) {
    return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** A QEMU CPU-state note (v1, 440 bytes) with recognisable values. */
  static byte[] qemuNote(long rip, long cr3, int cs, long gsBase, long kernelGsBase) {
    ByteBuffer d = le(440);
    d.putInt(0, 1).putInt(4, 440);
    for (int i = 0; i < 16; i++) {
      d.putLong(8 + 8 * i, 0x1000 + i); // rax..r15
    }
    d.putLong(8 + 16 * 8, rip).putLong(8 + 17 * 8, 0x246);
    int segs = 8 + 18 * 8;
    d.putInt(segs, cs); // cs selector
    d.putInt(segs + 24 * 4, 0).putLong(segs + 24 * 4 + 16, gsBase); // gs
    int cr = segs + 240;
    d.putLong(cr, 0x80050033L).putLong(cr + 24, cr3).putLong(cr + 32, 0x6b0);
    d.putLong(432, kernelGsBase);
    return d.array();
  }

  static byte[] prstatusNote(long rip, long rax) {
    ByteBuffer d = le(336);
    int regs = 112;
    d.putLong(regs + 10 * 8, rax).putLong(regs + 16 * 8, rip).putLong(regs + 17 * 8, 0x10);
    return d.array();
  }

  static byte[] note(String name, int type, byte[] desc) {
    byte[] n = (name + "\0").getBytes(StandardCharsets.US_ASCII);
    int nameSize = (n.length + 3) & ~3;
    int descSize = (desc.length + 3) & ~3;
    ByteBuffer b = le(12 + nameSize + descSize);
    b.putInt(n.length).putInt(desc.length).putInt(type);
    b.put(n).position(12 + nameSize);
    b.put(desc);
    return b.array();
  }

  static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** Standard notes of a one-CPU QEMU dump plus a VMCOREINFO note. */
  static byte[] standardNotes() {
    return concat(note("CORE", 1, prstatusNote(0xffffffff81000000L, 7)),
        note("QEMU", 0, qemuNote(0xffffffff81000000L, 0x1a10000, 0x10, 0xffff888000100000L, 0)),
        note("VMCOREINFO", 0, "OSRELEASE=6.1.0-test\nPAGESIZE=4096\n".getBytes(StandardCharsets.US_ASCII)));
  }

  /** An ELF core: one PT_NOTE, one PT_LOAD per range of page frames {@code [first, first+count)}. */
  static byte[] elf(byte[] notes, long[][] frameRanges) {
    int phnum = 1 + frameRanges.length;
    long offset = 64 + 56L * phnum;
    ByteBuffer h = le((int) offset);
    h.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1});
    h.putShort(16, (short) 4).putShort(18, (short) 62).putInt(20, 1);
    h.putLong(32, 64).putShort(52, (short) 64).putShort(54, (short) 56).putShort(56, (short) phnum);
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    int ph = 64;
    h.putInt(ph, 4).putLong(ph + 8, offset).putLong(ph + 32, notes.length).putLong(ph + 40, notes.length);
    body.writeBytes(notes);
    long dataOffset = offset + notes.length;
    for (int i = 0; i < frameRanges.length; i++) {
      long first = frameRanges[i][0];
      long count = frameRanges[i][1];
      int at = 64 + 56 * (i + 1);
      h.putInt(at, 1).putLong(at + 8, dataOffset).putLong(at + 16, first << 12).putLong(at + 24, first << 12)
          .putLong(at + 32, count << 12).putLong(at + 40, count << 12);
      for (long f = first; f < first + count; f++) {
        body.writeBytes(page(f));
      }
      dataOffset += count << 12;
    }
    return concat(h.array(), body.toByteArray());
  }

  /** LiME: one range per {@code [first frame, count]}. */
  static byte[] lime(long[][] frameRanges) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (long[] r : frameRanges) {
      ByteBuffer h = le(32);
      h.putInt(0x4C694D45).putInt(1).putLong(r[0] << 12).putLong(((r[0] + r[1]) << 12) - 1);
      out.writeBytes(h.array());
      for (long f = r[0]; f < r[0] + r[1]; f++) {
        out.writeBytes(page(f));
      }
    }
    return out.toByteArray();
  }

  /**
   * A kdump file as QEMU writes it (header v6, sub-header with notes, two equal bitmaps, descriptors, a shared zero
   * page, then zlib pages; a page that does not shrink is stored raw). Frames in {@code zeroFrames} are all zeros.
   */
  static byte[] kdump(byte[] notes, long[][] frameRanges, long maxFrames, List<Long> zeroFrames) {
    TreeMap<Long, byte[]> pages = new TreeMap<>();
    for (long[] r : frameRanges) {
      for (long f = r[0]; f < r[0] + r[1]; f++) {
        pages.put(f, zeroFrames.contains(f) ? new byte[4096] : page(f));
      }
    }
    int block = 4096;
    int subHeaderBlocks = (104 + notes.length + block - 1) / block;
    int bitmapBytes = (int) (((maxFrames + 7) / 8 + block - 1) / block * block);
    int bitmapBlocks = 2 * bitmapBytes / block;
    ByteBuffer header = le(block);
    header.put("KDUMP   ".getBytes(StandardCharsets.US_ASCII)).putInt(8, 6);
    header.position(12 + 4 * 65);
    header.put("x86_64".getBytes(StandardCharsets.US_ASCII));
    header.putInt(424, 1).putInt(428, block).putInt(432, subHeaderBlocks).putInt(436, bitmapBlocks)
        .putInt(440, (int) maxFrames).putInt(460, 1);
    ByteBuffer sub = le(subHeaderBlocks * block);
    sub.putLong(48, block + 104L).putLong(56, notes.length).putLong(96, maxFrames);
    sub.position(104);
    sub.put(notes);
    byte[] bitmap = new byte[bitmapBytes];
    for (long f : pages.keySet()) {
      bitmap[(int) (f >>> 3)] |= (byte) (1 << (f & 7));
    }
    long descOffset = (long) (1 + subHeaderBlocks + bitmapBlocks) * block;
    ByteBuffer desc = le(24 * pages.size());
    ByteArrayOutputStream data = new ByteArrayOutputStream();
    long dataOffset = descOffset + desc.capacity();
    long zeroPageOffset = dataOffset;
    data.writeBytes(new byte[4096]);
    for (byte[] p : pages.values()) {
      if (java.util.Arrays.equals(p, new byte[4096])) {
        desc.putLong(zeroPageOffset).putInt(4096).putInt(0).putLong(0);
        continue;
      }
      byte[] z = deflate(p);
      long at = dataOffset + data.size();
      if (z.length < 4096) {
        desc.putLong(at).putInt(z.length).putInt(1).putLong(0);
        data.writeBytes(z);
      } else {
        desc.putLong(at).putInt(4096).putInt(0).putLong(0);
        data.writeBytes(p);
      }
    }
    return concat(header.array(), sub.array(), bitmap, bitmap, desc.array(), data.toByteArray());
  }

  static byte[] deflate(byte[] p) {
    Deflater d = new Deflater();
    d.setInput(p);
    d.finish();
    byte[] out = new byte[8192];
    int n = d.deflate(out);
    d.end();
    return java.util.Arrays.copyOf(out, n);
  }

  /** The makedumpfile flattened stream of {@code file}, written in {@code chunk}-byte records, shuffled pairs. */
  static byte[] flatten(byte[] file, int chunk) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer h = ByteBuffer.allocate(4096).order(ByteOrder.BIG_ENDIAN);
    h.put("makedumpfile".getBytes(StandardCharsets.US_ASCII)).putLong(16, 1).putLong(24, 1);
    out.writeBytes(h.array());
    List<int[]> records = new ArrayList<>();
    for (int at = 0; at < file.length; at += chunk) {
      records.add(new int[] {at, Math.min(chunk, file.length - at)});
    }
    for (int i = 0; i + 1 < records.size(); i += 2) { // out of order, as QEMU interleaves two streams
      int[] t = records.get(i);
      records.set(i, records.get(i + 1));
      records.set(i + 1, t);
    }
    for (int[] r : records) {
      if (isZero(file, r[0], r[1]) && r[0] + r[1] < file.length) {
        continue; // holes stay holes, like the sparse reassembled file
      }
      ByteBuffer rh = ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN).putLong((long) r[0]).putLong((long) r[1]);
      out.writeBytes(rh.array());
      out.write(file, r[0], r[1]);
    }
    out.writeBytes(ByteBuffer.allocate(16).order(ByteOrder.BIG_ENDIAN).putLong(-1).putLong(-1).array());
    return out.toByteArray();
  }

  private static boolean isZero(byte[] b, int from, int length) {
    for (int i = from; i < from + length; i++) {
      if (b[i] != 0) {
        return false;
      }
    }
    return true;
  }

  static Path write(Path dir, String name, byte[] content) throws IOException {
    Path p = dir.resolve(name);
    Files.write(p, content);
    return p;
  }
}
