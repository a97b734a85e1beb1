package io.hybridbridge.emulator.tools;

import io.hybridbridge.schemas.SystemRow;
import java.nio.charset.StandardCharsets;

/** Parses uname(2)'s {@code struct new_utsname} (six NUL-padded 65-byte fields) and {@code /proc/uptime}. */
public final class SystemParser {
  private SystemParser() {}

  /** Size of one field of struct new_utsname (__NEW_UTS_LEN + 1), part of the system-call ABI. */
  public static final int UTS_FIELD = 65;
  public static final int UTSNAME_SIZE = 6 * UTS_FIELD;

  public record Utsname(String sysname, String nodename, String release, String version, String machine,
      String domainname) {}

  public record Uptime(double uptimeSeconds, double idleSeconds) {}

  public static Utsname parseUtsname(byte[] raw) throws ToolException {
    if (raw.length < UTSNAME_SIZE) {
      throw new ToolException("utsname has " + raw.length + " bytes, expected " + UTSNAME_SIZE);
    }
    String[] f = new String[6];
    for (int i = 0; i < 6; i++) {
      int start = i * UTS_FIELD;
      int end = start;
      while (end < start + UTS_FIELD && raw[end] != 0) {
        end++;
      }
      if (end == start + UTS_FIELD) {
        throw new ToolException("utsname field " + i + " is not NUL-terminated");
      }
      f[i] = new String(raw, start, end - start, StandardCharsets.UTF_8);
    }
    return new Utsname(f[0], f[1], f[2], f[3], f[4], f[5]);
  }

  public static Uptime parseUptime(String text) throws ToolException {
    String[] f = text.strip().split(" ");
    try {
      if (f.length == 2) {
        return new Uptime(Double.parseDouble(f[0]), Double.parseDouble(f[1]));
      }
    } catch (NumberFormatException e) {
      // falls through to the error below
    }
    throw new ToolException("malformed /proc/uptime: " + ProcessParser.abbreviate(text));
  }

  public static SystemRow row(RowContext context, Utsname uts, String procVersion, Uptime uptime) {
    return SystemRow.newBuilder()
        .setSnapshotId(context.snapshotId())
        .setVmId(context.vmId())
        .setKernelBuild(context.kernelBuild())
        .setSysname(uts.sysname())
        .setNodename(uts.nodename())
        .setRelease(uts.release())
        .setVersion(uts.version())
        .setMachine(uts.machine())
        .setDomainname(uts.domainname())
        .setProcVersion(procVersion.strip())
        .setUptimeSeconds(uptime.uptimeSeconds())
        .setIdleSeconds(uptime.idleSeconds())
        .build();
  }
}
