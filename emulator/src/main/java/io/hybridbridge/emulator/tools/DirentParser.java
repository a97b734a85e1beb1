package io.hybridbridge.emulator.tools;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Parses the buffer getdents64(2) fills: {@code struct linux_dirent64} records, part of the system-call ABI. */
public final class DirentParser {
  private DirentParser() {}

  /** Offset of d_name: u64 d_ino, s64 d_off, u16 d_reclen, u8 d_type. */
  private static final int NAME_OFFSET = 8 + 8 + 2 + 1;

  public record Dirent(long inode, int type, String name) {}

  public static List<Dirent> parse(byte[] buffer, int length) throws ToolException {
    ByteBuffer b = ByteBuffer.wrap(buffer, 0, length).order(ByteOrder.LITTLE_ENDIAN);
    List<Dirent> entries = new ArrayList<>();
    int at = 0;
    while (at < length) {
      if (at + NAME_OFFSET > length) {
        throw new ToolException("truncated linux_dirent64 at offset " + at);
      }
      int recordLength = Short.toUnsignedInt(b.getShort(at + 16));
      if (recordLength <= NAME_OFFSET || at + recordLength > length) {
        throw new ToolException("bad d_reclen " + recordLength + " at offset " + at);
      }
      int end = at + NAME_OFFSET;
      while (end < at + recordLength && buffer[end] != 0) {
        end++;
      }
      entries.add(new Dirent(b.getLong(at), buffer[at + 18] & 0xff,
          new String(buffer, at + NAME_OFFSET, end - at - NAME_OFFSET, StandardCharsets.UTF_8)));
      at += recordLength;
    }
    return entries;
  }
}
