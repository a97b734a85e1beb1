package io.hybridbridge.datasets;

import io.hybridbridge.schemas.SnapshotFormat;
import java.io.IOException;
import java.io.InputStream;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;

/** Facts about a memory image file: its format (from its content), its digest, the CPU state QEMU noted in it. */
public final class SnapshotFiles {
  /** The CPU registers of QEMU's "QEMU" ELF note (QEMUCPUState): what the dump itself says. */
  public record NotedCpu(long rip, long rsp, long rflags, int cs, long cr3, long kernelGsBase) {
    public boolean userMode() {
      return (cs & 3) == 3;
    }
  }

  private static final byte[] KDUMP_SIGNATURE = "KDUMP   ".getBytes(StandardCharsets.US_ASCII);

  private SnapshotFiles() {}

  public static SnapshotFormat detectFormat(Path file) throws DatasetException {
    byte[] head = new byte[8];
    try (InputStream in = Files.newInputStream(file)) {
      if (in.readNBytes(head, 0, 8) < 8) {
        throw new DatasetException(file + " is too short to be a memory image");
      }
    } catch (IOException e) {
      throw new DatasetException("cannot read " + file + ": " + e.getMessage(), e);
    }
    if (Elf64.hasMagic(head)) {
      return SnapshotFormat.ELF;
    }
    if (Arrays.equals(head, KDUMP_SIGNATURE)) {
      return SnapshotFormat.KDUMP;
    }
    throw new DatasetException(file + " is neither an ELF core nor a kdump-compressed image");
  }

  static String sha256(Path file) throws DatasetException {
    try (InputStream in = Files.newInputStream(file)) {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      byte[] buffer = new byte[1 << 20];
      int n;
      while ((n = in.read(buffer)) > 0) {
        sha.update(buffer, 0, n);
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (IOException e) {
      throw new DatasetException("cannot read " + file + ": " + e.getMessage(), e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }

  /**
   * The per-vCPU "QEMU" notes of an ELF dump. QEMUCPUState: u32 version, u32 size, then rax..r15, rip, rflags
   * (u64 each), then 10 segments of 24 bytes starting with cs (u32 selector first), then cr[5], then
   * kernel_gs_base — the layout QEMU documents for its dump notes, not the guest kernel's.
   */
  public static List<NotedCpu> qemuNotes(Path elfDump) throws DatasetException {
    try (RandomAccessFile in = new RandomAccessFile(elfDump.toFile(), "r")) {
      byte[] head = new byte[(int) Math.min(in.length(), 1 << 16)];
      in.readFully(head);
      Elf64 elf = Elf64.parse(head);
      if (elf.type() != Elf64.ET_CORE) {
        throw new DatasetException(elfDump + " is an ELF file but not a core dump");
      }
      List<NotedCpu> cpus = new ArrayList<>();
      for (Elf64.ProgramHeader ph : elf.programHeaders()) {
        if (ph.type() != Elf64.PT_NOTE) {
          continue;
        }
        if (ph.fileSize() > 1 << 24 || ph.offset() + ph.fileSize() > in.length()) {
          throw new DatasetException(elfDump + ": PT_NOTE segment out of bounds");
        }
        byte[] segment = new byte[(int) ph.fileSize()];
        in.seek(ph.offset());
        in.readFully(segment);
        for (Elf64.Note note : Elf64.parseNotes(segment)) {
          if (note.name().equals("QEMU") && note.descriptor().length >= 440) {
            ByteBuffer d = ByteBuffer.wrap(note.descriptor()).order(ByteOrder.LITTLE_ENDIAN);
            int regs = 8; // after version and size
            int segments = regs + 18 * 8;
            int crs = segments + 10 * 24;
            cpus.add(new NotedCpu(d.getLong(regs + 16 * 8), d.getLong(regs + 6 * 8), d.getLong(regs + 17 * 8),
                d.getInt(segments), d.getLong(crs + 3 * 8), d.getLong(crs + 5 * 8)));
          }
        }
      }
      return cpus;
    } catch (IOException e) {
      throw new DatasetException("cannot read " + elfDump + ": " + e.getMessage(), e);
    }
  }
}
