package io.hybridbridge.emulator.tools;

import io.hybridbridge.schemas.ModuleRow;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Parses {@code /proc/modules}: {@code name size refcount used_by state address [taints]} per line, where
 * {@code used_by} is {@code -} or a comma-terminated list (kernel/module/procfs.c).
 */
public final class ModuleParser {
  private ModuleParser() {}

  public static List<ModuleRow> parse(RowContext context, String text) throws ToolException {
    List<ModuleRow> rows = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      String[] f = line.strip().split(" ");
      if (f.length < 6 || !f[5].startsWith("0x")) {
        throw new ToolException("malformed /proc/modules line: " + ProcessParser.abbreviate(line));
      }
      try {
        rows.add(ModuleRow.newBuilder()
            .setSnapshotId(context.snapshotId())
            .setVmId(context.vmId())
            .setKernelBuild(context.kernelBuild())
            .setName(f[0])
            .setSizeBytes(Long.parseLong(f[1]))
            .setRefcount(Integer.parseInt(f[2]))
            .setUsedBy(f[3].equals("-") ? List.of()
                : Arrays.stream(f[3].split(",")).filter(s -> !s.isEmpty()).toList())
            .setState(f[4])
            .setAddress(Long.parseUnsignedLong(f[5].substring(2), 16))
            .build());
      } catch (NumberFormatException e) {
        throw new ToolException("malformed number in /proc/modules line: " + ProcessParser.abbreviate(line));
      }
    }
    return rows;
  }
}
