package io.hybridbridge.emulator.tools;

import io.hybridbridge.schemas.MountRow;
import java.util.ArrayList;
import java.util.List;

/** Parses {@code /proc/<pid>/mounts}: {@code device mountpoint fstype options dump pass}, octal-escaped. */
public final class MountParser {
  private MountParser() {}

  public static List<MountRow> parse(RowContext context, String text) throws ToolException {
    List<MountRow> rows = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      String[] f = line.split(" ");
      if (f.length != 6) {
        throw new ToolException("malformed mounts line: " + ProcessParser.abbreviate(line));
      }
      rows.add(MountRow.newBuilder()
          .setSnapshotId(context.snapshotId())
          .setVmId(context.vmId())
          .setKernelBuild(context.kernelBuild())
          .setDevice(unescape(f[0]))
          .setMountpoint(unescape(f[1]))
          .setFstype(unescape(f[2]))
          .setOptions(unescape(f[3]))
          .build());
    }
    return rows;
  }

  /** Undoes the kernel's mangling of space, tab, newline and backslash as {@code \ooo} (fs/proc_namespace.c). */
  static String unescape(String field) {
    StringBuilder out = new StringBuilder(field.length());
    for (int i = 0; i < field.length(); i++) {
      char c = field.charAt(i);
      if (c == '\\' && isOctal(field, i + 1)) {
        out.append((char) Integer.parseInt(field.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static boolean isOctal(String s, int from) {
    if (from + 3 > s.length()) {
      return false;
    }
    for (int i = from; i < from + 3; i++) {
      if (s.charAt(i) < '0' || s.charAt(i) > '7') {
        return false;
      }
    }
    return true;
  }
}
