package io.hybridbridge.emulator.tools;

import io.hybridbridge.schemas.ProcessRow;
import java.nio.charset.StandardCharsets;
import java.util.regex.Pattern;

/**
 * Parses what the kernel returns for {@code /proc/<pid>/stat}, {@code status} and {@code cmdline} (proc(5)).
 * The kernel formats these; this only splits its text.
 */
public final class ProcessParser {
  private ProcessParser() {}

  /** Compiled once: String.split compiles a pattern of more than one character at every call. */
  static final Pattern WHITESPACE = Pattern.compile("\\s+");

  /** The fields of /proc/<pid>/stat that ps shows. */
  public record Stat(int pid, String comm, String state, int ppid, int threads, long startTimeTicks,
      long vsizeBytes, long rssPages) {}

  /** The fields of /proc/<pid>/status not present in stat. */
  public record Status(int tgid, int uid, int gid) {}

  /**
   * Parses one stat line. {@code comm} may hold spaces and parentheses, so it runs from the first '(' to the
   * last ')'.
   */
  public static Stat parseStat(String text) throws ToolException {
    String line = text.strip();
    int open = line.indexOf('(');
    int close = line.lastIndexOf(')');
    if (open < 1 || close < open) {
      throw new ToolException("malformed /proc/<pid>/stat: " + abbreviate(line));
    }
    String[] rest = line.substring(close + 1).strip().split(" ");
    // rest[0] is field 3 (state); field n is rest[n - 3].
    if (rest.length < 22) {
      throw new ToolException("short /proc/<pid>/stat (" + rest.length + " fields after comm): " + abbreviate(line));
    }
    try {
      return new Stat(
          Integer.parseInt(line.substring(0, open).strip()),
          line.substring(open + 1, close),
          rest[0],
          Integer.parseInt(rest[4 - 3]),
          Integer.parseInt(rest[20 - 3]),
          Long.parseLong(rest[22 - 3]),
          Long.parseUnsignedLong(rest[23 - 3]),
          Long.parseLong(rest[24 - 3]));
    } catch (NumberFormatException e) {
      throw new ToolException("malformed number in /proc/<pid>/stat: " + abbreviate(line));
    }
  }

  /** Parses the Tgid, Uid and Gid lines of /proc/<pid>/status (first value of Uid/Gid: the real id). */
  public static Status parseStatus(String text) throws ToolException {
    Integer tgid = null;
    Integer uid = null;
    Integer gid = null;
    for (String line : text.split("\n")) {
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      switch (line.substring(0, colon)) {
        case "Tgid" -> tgid = firstValue(line, colon);
        case "Uid" -> uid = firstValue(line, colon);
        case "Gid" -> gid = firstValue(line, colon);
        default -> { } // most of the file: not split (ps reads this file for every process)
      }
    }
    if (tgid == null || uid == null || gid == null) {
      throw new ToolException("/proc/<pid>/status lacks Tgid, Uid or Gid");
    }
    return new Status(tgid, uid, gid);
  }

  /** The first number after the colon at {@code colon} of a /proc/<pid>/status line. */
  private static int firstValue(String line, int colon) throws ToolException {
    try {
      return Integer.parseInt(WHITESPACE.split(line.substring(colon + 1).strip())[0]);
    } catch (NumberFormatException e) {
      throw new ToolException("malformed " + line.substring(0, colon) + " line in /proc/<pid>/status: "
          + abbreviate(line));
    }
  }

  /** Joins the NUL-separated arguments of /proc/<pid>/cmdline with single spaces, as ps does. */
  public static String parseCmdline(byte[] raw) {
    int end = raw.length;
    while (end > 0 && raw[end - 1] == 0) {
      end--;
    }
    return new String(raw, 0, end, StandardCharsets.UTF_8).replace('\0', ' ');
  }

  public static ProcessRow row(RowContext context, Stat stat, Status status, String cmdline) {
    return ProcessRow.newBuilder()
        .setSnapshotId(context.snapshotId())
        .setVmId(context.vmId())
        .setKernelBuild(context.kernelBuild())
        .setPid(stat.pid())
        .setPpid(stat.ppid())
        .setTgid(status.tgid())
        .setComm(stat.comm())
        .setState(stat.state())
        .setUid(status.uid())
        .setGid(status.gid())
        .setThreads(stat.threads())
        .setVsizeBytes(stat.vsizeBytes())
        .setRssPages(stat.rssPages())
        .setStartTimeTicks(stat.startTimeTicks())
        .setCmdline(cmdline)
        .build();
  }

  static String abbreviate(String s) {
    return s.length() <= 120 ? s : s.substring(0, 117) + "...";
  }
}
