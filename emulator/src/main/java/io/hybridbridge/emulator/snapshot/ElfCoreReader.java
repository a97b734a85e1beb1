package io.hybridbridge.emulator.snapshot;

import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.BAD_HEADER;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.TOO_LARGE;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.TRUNCATED;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.UNSUPPORTED;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.WRONG_ARCHITECTURE;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * QEMU/libvirt ELF core ({@code dump-guest-memory} format {@code elf}, {@code virsh dump --memory-only}):
 * ET_CORE for x86-64, PT_LOAD segments whose p_paddr is guest-physical, PT_NOTE with the CPU notes.
 */
final class ElfCoreReader {
  static final byte[] MAGIC = {0x7f, 'E', 'L', 'F'};
  private static final int EHDR_SIZE = 64;
  private static final int PHDR_SIZE = 56;
  private static final int ELFCLASS64 = 2;
  private static final int ELFDATA2LSB = 1;
  private static final int ET_CORE = 4;
  private static final int EM_X86_64 = 62;
  private static final int PT_LOAD = 1;
  private static final int PT_NOTE = 4;
  private static final int PN_XNUM = 0xffff;
  /** More program headers than any guest memory map needs; refused before reading them. */
  static final int MAX_SEGMENTS = 1 << 20;

  private ElfCoreReader() {}

  static Snapshot open(ByteSource source) throws IOException, SnapshotFormatException {
    String name = source.name();
    if (source.size() < EHDR_SIZE) {
      throw new SnapshotFormatException(TRUNCATED, name + ": ELF header needs 64 bytes, the file has " + source.size());
    }
    ByteBuffer eh = source.read(0, EHDR_SIZE);
    if (eh.get(4) != ELFCLASS64 || eh.get(5) != ELFDATA2LSB) {
      throw new SnapshotFormatException(WRONG_ARCHITECTURE,
          name + ": ELF class " + eh.get(4) + " data " + eh.get(5) + " is not 64-bit little-endian");
    }
    int type = Short.toUnsignedInt(eh.getShort(16));
    int machine = Short.toUnsignedInt(eh.getShort(18));
    if (machine != EM_X86_64) {
      throw new SnapshotFormatException(WRONG_ARCHITECTURE, name + ": ELF machine " + machine + " is not x86-64 (62)");
    }
    if (type != ET_CORE) {
      throw new SnapshotFormatException(UNSUPPORTED, name + ": ELF type " + type + " is not a core file (4)");
    }
    long phoff = eh.getLong(32);
    long shoff = eh.getLong(40);
    int phentsize = Short.toUnsignedInt(eh.getShort(54));
    long phnum = Short.toUnsignedInt(eh.getShort(56));
    if (phentsize != PHDR_SIZE) {
      throw new SnapshotFormatException(BAD_HEADER, name + ": program header size " + phentsize + " is not 56");
    }
    if (phnum == PN_XNUM) { // the real count is in section header 0's sh_info
      if (!source.contains(shoff, 64)) {
        throw new SnapshotFormatException(TRUNCATED, name + ": section header 0 (for the extended segment count) "
            + "at offset " + shoff + " is past the end of the file");
      }
      phnum = Integer.toUnsignedLong(source.read(shoff + 44, 4).getInt(0));
    }
    if (phnum > MAX_SEGMENTS) {
      throw new SnapshotFormatException(TOO_LARGE, name + ": " + phnum + " program headers (at most " + MAX_SEGMENTS + ")");
    }
    if (!source.contains(phoff, phnum * PHDR_SIZE)) {
      throw new SnapshotFormatException(TRUNCATED, String.format(
          "%s: %d program headers at offset %d run past the end of the file (%d bytes)", name, phnum, phoff, source.size()));
    }
    ByteBuffer ph = source.read(phoff, (int) (phnum * PHDR_SIZE));
    SegmentTable.Builder segments = new SegmentTable.Builder();
    ByteArrayOutputStream notes = new ByteArrayOutputStream();
    for (int i = 0; i < phnum; i++) {
      int at = i * PHDR_SIZE;
      int ptype = ph.getInt(at);
      long offset = ph.getLong(at + 8);
      long paddr = ph.getLong(at + 24);
      long filesz = ph.getLong(at + 32);
      if (ptype == PT_LOAD) {
        segments.add(paddr, filesz, offset);
      } else if (ptype == PT_NOTE) {
        if (filesz < 0 || filesz + notes.size() > ElfNotes.MAX_BYTES) {
          throw new SnapshotFormatException(TOO_LARGE, name + ": notes of " + filesz + " bytes (at most "
              + ElfNotes.MAX_BYTES + ")");
        }
        if (!source.contains(offset, filesz)) {
          throw new SnapshotFormatException(TRUNCATED, String.format(
              "%s: PT_NOTE at offset %d (%d bytes) is past the end of the file", name, offset, filesz));
        }
        byte[] blob = new byte[(int) filesz];
        source.readFully(offset, blob, 0, blob.length);
        notes.write(blob);
      }
    }
    ElfNotes parsed = ElfNotes.parse(notes.toByteArray(), name);
    return new SegmentSnapshot(source, ContainerFormat.ELF, segments.build(source), parsed.cpus(), parsed.vmcoreinfo());
  }
}
