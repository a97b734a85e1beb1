package io.hybridbridge.emulator.tools;

import io.hybridbridge.schemas.SocketRow;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * Parses {@code /proc/net/{tcp,tcp6,udp,udp6,raw,raw6}} (one layout) and {@code /proc/net/unix}. The state
 * numbers are the kernel's user-visible ABI (include/net/tcp_states.h, include/uapi/linux/net.h).
 */
public final class SocketParser {
  private SocketParser() {}

  private static final Pattern SPACES = Pattern.compile(" +");

  private static final String[] TCP_STATES = {
    "UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
    "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"
  };
  private static final String[] UNIX_STATES = {
    "FREE", "UNCONNECTED", "CONNECTING", "CONNECTED", "DISCONNECTING"
  };

  /** Parses an inet table; {@code proto} names it (tcp, tcp6, udp, udp6, raw, raw6). */
  public static List<SocketRow> parseInet(RowContext context, String proto, String text) throws ToolException {
    List<SocketRow> rows = new ArrayList<>();
    String[] lines = text.split("\n");
    for (int i = 1; i < lines.length; i++) { // line 0 is the header
      String line = lines[i].strip();
      if (line.isEmpty()) {
        continue;
      }
      String[] f = ProcessParser.WHITESPACE.split(line);
      if (f.length < 10 || !f[0].endsWith(":")) {
        throw new ToolException("malformed /proc/net/" + proto + " line: " + ProcessParser.abbreviate(line));
      }
      try {
        int state = Integer.parseInt(f[3], 16);
        rows.add(base(context, proto)
            .setLocalAddress(address(f[1]))
            .setLocalPort(port(f[1]))
            .setRemoteAddress(address(f[2]))
            .setRemotePort(port(f[2]))
            .setState(state < TCP_STATES.length ? TCP_STATES[state] : Integer.toString(state))
            .setUid(Integer.parseInt(f[7]))
            .setInode(Long.parseLong(f[9]))
            .build());
      } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
        throw new ToolException("malformed /proc/net/" + proto + " line: " + ProcessParser.abbreviate(line));
      }
    }
    return rows;
  }

  /** Parses /proc/net/unix: {@code Num RefCount Protocol Flags Type St Inode [Path]}. */
  public static List<SocketRow> parseUnix(RowContext context, String text) throws ToolException {
    List<SocketRow> rows = new ArrayList<>();
    String[] lines = text.split("\n");
    for (int i = 1; i < lines.length; i++) {
      String line = lines[i];
      if (line.isBlank()) {
        continue;
      }
      String[] f = SPACES.split(line.strip(), 8);
      if (f.length < 7 || !f[0].endsWith(":")) {
        throw new ToolException("malformed /proc/net/unix line: " + ProcessParser.abbreviate(line));
      }
      try {
        int type = Integer.parseInt(f[4], 16);
        int state = Integer.parseInt(f[5], 16);
        rows.add(base(context, "unix")
            .setUnixType(switch (type) {
              case 1 -> "STREAM";
              case 2 -> "DGRAM";
              case 5 -> "SEQPACKET";
              default -> Integer.toString(type);
            })
            .setState(state < UNIX_STATES.length ? UNIX_STATES[state] : Integer.toString(state))
            .setInode(Long.parseLong(f[6]))
            .setUnixPath(f.length > 7 ? f[7] : null)
            .build());
      } catch (NumberFormatException e) {
        throw new ToolException("malformed /proc/net/unix line: " + ProcessParser.abbreviate(line));
      }
    }
    return rows;
  }

  private static SocketRow.Builder base(RowContext context, String proto) {
    return SocketRow.newBuilder()
        .setSnapshotId(context.snapshotId())
        .setVmId(context.vmId())
        .setKernelBuild(context.kernelBuild())
        .setProto(proto);
  }

  /**
   * {@code 0100007F:1F90} → 127.0.0.1. The kernel prints each 32-bit word of the network-order address as a
   * host-order (little-endian) hex number, so the bytes of every word are reversed.
   */
  static String address(String hexAddressAndPort) {
    String hex = hexAddressAndPort.substring(0, hexAddressAndPort.indexOf(':'));
    byte[] bytes = new byte[hex.length() / 2];
    for (int word = 0; word < bytes.length / 4; word++) {
      long value = Long.parseLong(hex.substring(word * 8, word * 8 + 8), 16);
      for (int b = 0; b < 4; b++) {
        bytes[word * 4 + b] = (byte) (value >>> (8 * b));
      }
    }
    if (bytes.length == 4) {
      return dotted(bytes, 0);
    }
    if (bytes.length != 16) {
      throw new NumberFormatException("bad address length " + bytes.length);
    }
    return ipv6(bytes);
  }

  private static String dotted(byte[] bytes, int from) {
    return (bytes[from] & 0xff) + "." + (bytes[from + 1] & 0xff) + "." + (bytes[from + 2] & 0xff) + "."
        + (bytes[from + 3] & 0xff);
  }

  /** RFC 5952 text: lowercase hex groups, the longest run of two or more zero groups as "::", v4-mapped dotted. */
  static String ipv6(byte[] bytes) {
    int[] groups = new int[8];
    for (int i = 0; i < 8; i++) {
      groups[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
    }
    boolean v4Mapped = groups[0] == 0 && groups[1] == 0 && groups[2] == 0 && groups[3] == 0 && groups[4] == 0
        && groups[5] == 0xffff;
    if (v4Mapped) {
      return "::ffff:" + dotted(bytes, 12);
    }
    int bestStart = -1;
    int bestLength = 1;
    for (int i = 0; i < 8; i++) {
      int j = i;
      while (j < 8 && groups[j] == 0) {
        j++;
      }
      if (j - i > bestLength) {
        bestStart = i;
        bestLength = j - i;
      }
      i = Math.max(i, j);
    }
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < 8; i++) {
      if (i == bestStart) {
        out.append("::");
        i += bestLength - 1;
        continue;
      }
      if (out.length() > 0 && out.charAt(out.length() - 1) != ':') {
        out.append(':');
      }
      out.append(Integer.toHexString(groups[i]));
    }
    return out.toString();
  }

  static int port(String hexAddressAndPort) {
    return Integer.parseInt(hexAddressAndPort.substring(hexAddressAndPort.indexOf(':') + 1), 16);
  }
}
