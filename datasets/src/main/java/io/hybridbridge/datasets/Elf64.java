package io.hybridbridge.datasets;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * The ELF64 header and program headers of a little-endian file (busybox, /proc/kcore, QEMU's ELF dumps): only
 * the generic ELF format, nothing of the kernel.
 */
record Elf64(int type, int machine, long entry, List<ProgramHeader> programHeaders) {
  static final int PT_LOAD = 1;
  static final int PT_INTERP = 3;
  static final int PT_NOTE = 4;
  static final int ET_CORE = 4;
  private static final int HEADER_SIZE = 64;

  record ProgramHeader(int type, int flags, long offset, long vaddr, long paddr, long fileSize, long memorySize) {}

  /** A note of a PT_NOTE segment: owner name, type and descriptor bytes. */
  record Note(String name, int type, byte[] descriptor) {}

  static boolean hasMagic(byte[] bytes) {
    return bytes.length >= 4 && bytes[0] == 0x7f && bytes[1] == 'E' && bytes[2] == 'L' && bytes[3] == 'F';
  }

  /** Parses {@code bytes}, which must hold the header and all program headers (they follow it in practice). */
  static Elf64 parse(byte[] bytes) throws DatasetException {
    if (bytes.length < HEADER_SIZE || !hasMagic(bytes)) {
      throw new DatasetException("not an ELF file (no \\x7fELF magic)");
    }
    if (bytes[4] != 2 || bytes[5] != 1) {
      throw new DatasetException("not a little-endian ELF64 file");
    }
    ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    int type = Short.toUnsignedInt(b.getShort(16));
    int machine = Short.toUnsignedInt(b.getShort(18));
    long entry = b.getLong(24);
    long phoff = b.getLong(32);
    int phentsize = Short.toUnsignedInt(b.getShort(54));
    int phnum = Short.toUnsignedInt(b.getShort(56));
    if (phnum > 0 && (phentsize < 56 || phoff < 0 || phoff + (long) phentsize * phnum > bytes.length)) {
      throw new DatasetException("ELF program headers (" + phnum + " at " + phoff + ") lie outside the "
          + bytes.length + " bytes read");
    }
    List<ProgramHeader> headers = new ArrayList<>();
    for (int i = 0; i < phnum; i++) {
      int at = (int) (phoff + (long) i * phentsize);
      headers.add(new ProgramHeader(b.getInt(at), b.getInt(at + 4), b.getLong(at + 8), b.getLong(at + 16),
          b.getLong(at + 24), b.getLong(at + 32), b.getLong(at + 40)));
    }
    return new Elf64(type, machine, entry, headers);
  }

  /** The notes of one PT_NOTE segment's bytes (4-byte aligned names and descriptors, as ELF64 cores use). */
  static List<Note> parseNotes(byte[] segment) throws DatasetException {
    ByteBuffer b = ByteBuffer.wrap(segment).order(ByteOrder.LITTLE_ENDIAN);
    List<Note> notes = new ArrayList<>();
    int at = 0;
    while (at + 12 <= segment.length) {
      long nameSize = Integer.toUnsignedLong(b.getInt(at));
      long descSize = Integer.toUnsignedLong(b.getInt(at + 4));
      int type = b.getInt(at + 8);
      long descStart = at + 12 + align4(nameSize);
      long descEnd = descStart + descSize;
      if (descEnd > segment.length) {
        throw new DatasetException("ELF note at " + at + " runs past its segment");
      }
      String name = new String(segment, at + 12, (int) Math.max(0, nameSize - 1),
          java.nio.charset.StandardCharsets.US_ASCII);
      byte[] desc = java.util.Arrays.copyOfRange(segment, (int) descStart, (int) descEnd);
      notes.add(new Note(name, type, desc));
      at = (int) (descStart + align4(descSize));
    }
    return notes;
  }

  private static long align4(long n) {
    return (n + 3) & ~3L;
  }
}
