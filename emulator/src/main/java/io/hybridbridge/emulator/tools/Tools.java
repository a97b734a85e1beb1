package io.hybridbridge.emulator.tools;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.hybridbridge.schemas.ProcessRow;
import io.hybridbridge.schemas.SocketRow;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificRecord;

/** The inspection tools of DESIGN §6, each a system-call script plus one of the parsers. */
public final class Tools {
  private Tools() {}

  /** ps: getdents64 on /proc; for each pid, read stat, status and cmdline. */
  public static final InspectionTool PS = tool("ps", "processes", (kernel, context) -> {
    List<ProcessRow> rows = new ArrayList<>();
    for (DirentParser.Dirent entry : kernel.listDirectory("/proc")) {
      if (!entry.name().chars().allMatch(Character::isDigit)) {
        continue;
      }
      String dir = "/proc/" + entry.name() + "/";
      rows.add(ProcessParser.row(context,
          ProcessParser.parseStat(new String(kernel.readFile(dir + "stat"), UTF_8)),
          ProcessParser.parseStatus(new String(kernel.readFile(dir + "status"), UTF_8)),
          ProcessParser.parseCmdline(kernel.readFile(dir + "cmdline"))));
    }
    return rows;
  });

  /** lsmod: read /proc/modules. */
  public static final InspectionTool LSMOD = tool("lsmod", "modules", (kernel, context) ->
      ModuleParser.parse(context, new String(kernel.readFile("/proc/modules"), UTF_8)));

  /** The inet tables netstat reads, in output order; unix is parsed separately. */
  public static final List<String> INET_TABLES = List.of("tcp", "tcp6", "udp", "udp6", "raw");

  /** netstat: read /proc/net/{tcp,tcp6,udp,udp6,raw,unix}. */
  public static final InspectionTool NETSTAT = tool("netstat", "sockets", (kernel, context) -> {
    List<SocketRow> rows = new ArrayList<>();
    for (String proto : INET_TABLES) {
      rows.addAll(SocketParser.parseInet(context, proto,
          new String(kernel.readFile("/proc/net/" + proto), UTF_8)));
    }
    rows.addAll(SocketParser.parseUnix(context, new String(kernel.readFile("/proc/net/unix"), UTF_8)));
    return rows;
  });

  /** uname + uptime: uname(2), read /proc/version and /proc/uptime. */
  public static final InspectionTool SYSTEM = tool("system", "system", (kernel, context) -> List.of(
      SystemParser.row(context,
          SystemParser.parseUtsname(kernel.uname()),
          new String(kernel.readFile("/proc/version"), UTF_8),
          SystemParser.parseUptime(new String(kernel.readFile("/proc/uptime"), UTF_8)))));

  /** mount: read /proc/1/mounts. */
  public static final InspectionTool MOUNT = tool("mount", "mounts", (kernel, context) ->
      MountParser.parse(context, new String(kernel.readFile("/proc/1/mounts"), UTF_8)));

  public static final List<InspectionTool> ALL = List.of(PS, LSMOD, NETSTAT, SYSTEM, MOUNT);

  private static final Map<String, InspectionTool> BY_NAME =
      ALL.stream().collect(Collectors.toUnmodifiableMap(InspectionTool::name, Function.identity()));

  /** The tool with this name, or a clear error listing the known ones. */
  public static InspectionTool byName(String name) throws ToolException {
    InspectionTool tool = BY_NAME.get(name);
    if (tool == null) {
      throw new ToolException("unknown tool '" + name + "'; known: "
          + ALL.stream().map(InspectionTool::name).collect(Collectors.joining(", ")));
    }
    return tool;
  }

  /** Resolves "all" or a comma-separated list of tool names. */
  public static List<InspectionTool> parseList(String names) throws ToolException {
    if (names.equals("all")) {
      return ALL;
    }
    List<InspectionTool> tools = new ArrayList<>();
    for (String name : Stream.of(names.split(",")).map(String::strip).toList()) {
      tools.add(byName(name));
    }
    return tools;
  }

  @FunctionalInterface
  private interface Script {
    List<? extends SpecificRecord> run(KernelCalls kernel, RowContext context) throws ToolException;
  }

  private static InspectionTool tool(String name, String table, Script script) {
    return new InspectionTool() {
      @Override public String name() {
        return name;
      }

      @Override public String table() {
        return table;
      }

      @Override public List<? extends SpecificRecord> run(KernelCalls kernel, RowContext context)
          throws ToolException {
        return script.run(kernel, context);
      }

      @Override public String toString() {
        return name;
      }
    };
  }
}
