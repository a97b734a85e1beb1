package io.hybridbridge.datasets;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The structured form of one ground-truth capture ({@code truth.json}), parsed from the verbatim items. Kernel
 * addresses are hex strings ("0xffff..."): JSON numbers cannot hold 64-bit unsigned values.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record GroundTruth(
    String tag,
    String bootId,
    int capturePid,
    List<Process> processes,
    List<Module> modules,
    List<InetSocket> inetSockets,
    List<UnixSocket> unixSockets,
    Uname uname,
    String version,
    Uptime uptime,
    List<Mount> mounts,
    Layout layout) {

  /** A process: from /proc/<pid>/stat, status, cmdline and fd, and from ps when ps listed it. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Process(int pid, Integer ppid, String comm, String state, Integer uid, Integer gid,
      Integer threads, Long startTimeTicks, Long vsizeBytes, Long rssPages, List<String> cmdline,
      Map<String, String> fds, List<Long> socketInodes, Ps ps, Map<String, String> status) {}

  /** One line of {@code ps -o pid,ppid,user,stat,comm,args}. */
  public record Ps(int pid, int ppid, String user, String stat, String comm, String args) {}

  /** One line of /proc/modules. */
  public record Module(String name, long size, int refcount, List<String> usedBy, String state,
      String address) {}

  /** One line of /proc/net/{tcp,tcp6,udp,udp6,raw}; state is the kernel's number, stateName for TCP only. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record InetSocket(String proto, String localAddress, int localPort, String remoteAddress,
      int remotePort, int state, String stateName, int uid, long inode) {}

  /** One line of /proc/net/unix; type 1 stream, 2 datagram, 5 seqpacket. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record UnixSocket(int refCount, int flags, int type, int state, long inode, String path) {}

  public record Uname(String all, String sysname, String nodename, String release, String version,
      String machine) {}

  public record Uptime(double seconds, double idleSeconds) {}

  public record Mount(String device, String mountPoint, String fsType, String options) {}

  /**
   * The kernel layout as the guest saw it: layout symbols from /proc/kallsyms, the PT_LOAD program headers of
   * /proc/kcore and the bases they reveal, and the physical address of "Kernel code" in /proc/iomem.
   */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record Layout(Map<String, String> symbols, List<KcoreLoad> kcoreLoads, String pageOffsetBase,
      String vmallocBase, String vmemmapBase, String kernelTextVirtual, String kernelCodePhysical) {}

  /** paddr is null where kcore says "no physical address" (-1): vmalloc, modules, vmemmap. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record KcoreLoad(String vaddr, String paddr, String size) {}

  static final List<String> INET_TABLES = List.of("tcp", "tcp6", "udp", "udp6", "raw");
  private static final String[] TCP_STATES = {null, "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
      "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"};
  private static final Pattern PROC_ITEM = Pattern.compile("proc/(\\d+)/(stat|status|cmdline|fd)");
  private static final Pattern FD_LINE = Pattern.compile(" (\\d+) -> (.*)$");
  private static final Pattern SOCKET_LINK = Pattern.compile("socket:\\[(\\d+)\\]");
  private static final long KERNEL_IMAGE_START = 0xffffffff80000000L;
  private static final long KERNEL_HALF_START = 0xffff800000000000L;
  private static final long ONE_GIB = 1L << 30;

  /** Parses the items of one capture (see {@link GroundTruthItems}). */
  static GroundTruth parse(String tag, Map<String, String> items) throws DatasetException {
    return new GroundTruth(tag,
        section("boot_id", () -> require(items, "boot_id").trim()),
        section("capture-pid", () -> parseInt(require(items, "capture-pid").trim())),
        section("processes (ps, /proc/<pid>/*)", () -> processes(items)),
        section("proc/modules", () -> modules(require(items, "proc/modules"))),
        section("proc/net/{tcp,tcp6,udp,udp6,raw}", () -> inetSockets(items)),
        section("proc/net/unix", () -> unixSockets(require(items, "proc/net/unix"))),
        section("uname", () -> uname(items)),
        section("proc/version", () -> require(items, "proc/version").trim()),
        section("proc/uptime", () -> uptime(require(items, "proc/uptime"))),
        section("proc/1/mounts", () -> mounts(require(items, "proc/1/mounts"))),
        section("layout (kallsyms-layout, kcore-header, proc/iomem)", () -> layout(items)));
  }

  private interface Section<T> {
    T parse() throws DatasetException;
  }

  /** Runs one section's parser; text of an unexpected shape becomes an error naming the section. */
  private static <T> T section(String what, Section<T> parser) throws DatasetException {
    try {
      return parser.parse();
    } catch (RuntimeException e) {
      throw new DatasetException("ground truth: cannot parse " + what + ": " + e, e);
    }
  }

  static String require(Map<String, String> items, String name) throws DatasetException {
    String value = items.get(name);
    if (value == null) {
      throw new DatasetException("ground truth: item '" + name + "' is missing");
    }
    return value;
  }

  private static List<Process> processes(Map<String, String> items) throws DatasetException {
    Map<Integer, Ps> ps = new TreeMap<>();
    String[] psLines = require(items, "ps").split("\n");
    for (int i = 1; i < psLines.length; i++) { // line 0 is the header
      String line = psLines[i];
      if (line.isBlank()) {
        continue;
      }
      // PID PPID USER STAT COMMAND(comm, padded to 16) COMMAND(args)
      String[] f = line.trim().split("\\s+", 5);
      if (f.length < 5) {
        throw new DatasetException("ground truth: unexpected ps line: " + line);
      }
      String rest = f[4];
      String comm = rest.length() > 16 ? rest.substring(0, 16).trim() : rest.trim();
      String args = rest.length() > 17 ? rest.substring(17).trim() : "";
      ps.put(parseInt(f[0]), new Ps(parseInt(f[0]), parseInt(f[1]), f[2], f[3], comm, args));
    }
    TreeSet<Integer> pids = new TreeSet<>(ps.keySet());
    for (String name : items.keySet()) {
      Matcher m = PROC_ITEM.matcher(name);
      if (m.matches()) {
        pids.add(parseInt(m.group(1)));
      }
    }
    List<Process> processes = new ArrayList<>();
    for (int pid : pids) {
      processes.add(process(pid, items, ps.get(pid)));
    }
    return processes;
  }

  private static Process process(int pid, Map<String, String> items, Ps ps) throws DatasetException {
    String stat = items.getOrDefault("proc/" + pid + "/stat", "").trim();
    String comm = null;
    String state = null;
    Integer ppid = ps == null ? null : ps.ppid();
    Integer threads = null;
    Long startTime = null;
    Long vsize = null;
    Long rss = null;
    if (!stat.isEmpty()) {
      // "pid (comm) state ppid ..." — comm may hold spaces and parentheses: it ends at the last ')'.
      int open = stat.indexOf('(');
      int close = stat.lastIndexOf(')');
      if (open < 0 || close < open) {
        throw new DatasetException("ground truth: unexpected /proc/" + pid + "/stat: " + stat);
      }
      comm = stat.substring(open + 1, close);
      String[] f = stat.substring(close + 2).split(" ");
      // f[0] is field 3 of proc(5): state; ppid 4; num_threads 20; starttime 22; vsize 23; rss 24.
      state = f[0];
      ppid = parseInt(f[1]);
      threads = parseInt(f[17]);
      startTime = Long.parseLong(f[19]);
      vsize = Long.parseLong(f[20]);
      rss = Long.parseLong(f[21]);
    }
    Map<String, String> status = new LinkedHashMap<>();
    for (String line : items.getOrDefault("proc/" + pid + "/status", "").split("\n")) {
      int colon = line.indexOf(':');
      if (colon > 0) {
        status.put(line.substring(0, colon), line.substring(colon + 1).trim());
      }
    }
    String cmdlineRaw = items.get("proc/" + pid + "/cmdline");
    List<String> cmdline = null;
    if (cmdlineRaw != null) {
      cmdline = cmdlineRaw.isEmpty() ? List.of()
          : Arrays.asList(cmdlineRaw.endsWith("\0") ? cmdlineRaw.substring(0, cmdlineRaw.length() - 1).split("\0", -1)
              : cmdlineRaw.split("\0", -1));
    }
    Map<String, String> fds = null;
    List<Long> sockets = null;
    String fdItem = items.get("proc/" + pid + "/fd");
    if (fdItem != null) {
      fds = new TreeMap<>((a, b) -> Integer.compare(parseIntOr(a), parseIntOr(b)));
      TreeSet<Long> socketSet = new TreeSet<>();
      for (String line : fdItem.split("\n")) {
        Matcher m = FD_LINE.matcher(line);
        if (m.find()) {
          fds.put(m.group(1), m.group(2));
          Matcher s = SOCKET_LINK.matcher(m.group(2));
          if (s.matches()) {
            socketSet.add(Long.parseLong(s.group(1)));
          }
        }
      }
      sockets = new ArrayList<>(socketSet);
    }
    return new Process(pid, ppid, comm, state, firstInt(status.get("Uid")), firstInt(status.get("Gid")),
        threads, startTime, vsize, rss, cmdline, fds, sockets, ps, status.isEmpty() ? null : status);
  }

  private static List<Module> modules(String text) throws DatasetException {
    List<Module> modules = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      String[] f = line.trim().split("\\s+");
      if (f.length < 5) {
        throw new DatasetException("ground truth: unexpected /proc/modules line: " + line);
      }
      List<String> usedBy = new ArrayList<>();
      if (!f[3].equals("-")) {
        for (String user : f[3].split(",")) {
          if (!user.isEmpty()) {
            usedBy.add(user);
          }
        }
      }
      modules.add(new Module(f[0], Long.parseLong(f[1]), parseInt(f[2]), usedBy, f[4],
          f.length > 5 ? f[5] : null));
    }
    return modules;
  }

  private static List<InetSocket> inetSockets(Map<String, String> items) throws DatasetException {
    List<InetSocket> sockets = new ArrayList<>();
    for (String proto : INET_TABLES) {
      String[] lines = require(items, "proc/net/" + proto).split("\n");
      for (int i = 1; i < lines.length; i++) {
        if (lines[i].isBlank()) {
          continue;
        }
        String[] f = lines[i].trim().split("\\s+");
        if (f.length < 10) {
          throw new DatasetException("ground truth: unexpected /proc/net/" + proto + " line: " + lines[i]);
        }
        String[] local = f[1].split(":");
        String[] remote = f[2].split(":");
        int state = Integer.parseInt(f[3], 16);
        String stateName = proto.startsWith("tcp") && state < TCP_STATES.length ? TCP_STATES[state] : null;
        sockets.add(new InetSocket(proto, address(local[0]), Integer.parseInt(local[1], 16), address(remote[0]),
            Integer.parseInt(remote[1], 16), state, stateName, parseInt(f[7]), Long.parseLong(f[9])));
      }
    }
    return sockets;
  }

  /** procfs prints an address as 32-bit words in host (little-endian) order. */
  static String address(String hex) throws DatasetException {
    if (hex.length() == 8) {
      long v = Long.parseLong(hex, 16);
      return (v & 0xff) + "." + ((v >> 8) & 0xff) + "." + ((v >> 16) & 0xff) + "." + ((v >> 24) & 0xff);
    }
    if (hex.length() == 32) {
      byte[] bytes = new byte[16];
      for (int word = 0; word < 4; word++) {
        long v = Long.parseLong(hex.substring(word * 8, word * 8 + 8), 16);
        for (int b = 0; b < 4; b++) {
          bytes[word * 4 + b] = (byte) (v >> (8 * b));
        }
      }
      try {
        return java.net.InetAddress.getByAddress(bytes).getHostAddress();
      } catch (java.net.UnknownHostException e) {
        throw new DatasetException("ground truth: bad IPv6 address " + hex, e);
      }
    }
    throw new DatasetException("ground truth: bad socket address " + hex);
  }

  private static List<UnixSocket> unixSockets(String text) throws DatasetException {
    List<UnixSocket> sockets = new ArrayList<>();
    String[] lines = text.split("\n");
    for (int i = 1; i < lines.length; i++) {
      if (lines[i].isBlank()) {
        continue;
      }
      // "Num: RefCount Protocol Flags Type St Inode [Path]"; Num is a pointer, printed hashed or as ptrval.
      String afterNum = lines[i].substring(lines[i].indexOf(':') + 1).trim();
      String[] f = afterNum.split("\\s+", 7);
      if (f.length < 6) {
        throw new DatasetException("ground truth: unexpected /proc/net/unix line: " + lines[i]);
      }
      sockets.add(new UnixSocket(Integer.parseInt(f[0], 16), Integer.parseInt(f[2], 16),
          Integer.parseInt(f[3], 16), Integer.parseInt(f[4], 16), Long.parseLong(f[5]),
          f.length > 6 ? f[6] : null));
    }
    return sockets;
  }

  private static Uname uname(Map<String, String> items) throws DatasetException {
    return new Uname(require(items, "uname-a").trim(), require(items, "uname-s").trim(),
        require(items, "uname-n").trim(), require(items, "uname-r").trim(), require(items, "uname-v").trim(),
        require(items, "uname-m").trim());
  }

  private static Uptime uptime(String text) throws DatasetException {
    String[] f = text.trim().split("\\s+");
    if (f.length != 2) {
      throw new DatasetException("ground truth: unexpected /proc/uptime: " + text);
    }
    return new Uptime(Double.parseDouble(f[0]), Double.parseDouble(f[1]));
  }

  private static List<Mount> mounts(String text) {
    List<Mount> mounts = new ArrayList<>();
    for (String line : text.split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length >= 4) {
        mounts.add(new Mount(f[0], f[1], f[2], f[3]));
      }
    }
    return mounts;
  }

  private static Layout layout(Map<String, String> items) throws DatasetException {
    Map<String, String> symbols = new TreeMap<>();
    for (String line : require(items, "kallsyms-layout").split("\n")) {
      String[] f = line.trim().split("\\s+");
      if (f.length >= 3) {
        symbols.put(f[2], "0x" + f[0]);
      }
    }
    Elf64 kcore = Elf64.parse(odBytes(require(items, "kcore-header")));
    List<KcoreLoad> loads = new ArrayList<>();
    Long directMap = null;
    Long vmalloc = null;
    long vmallocSize = 0;
    Long textVirtual = null;
    for (Elf64.ProgramHeader ph : kcore.programHeaders()) {
      if (ph.type() != Elf64.PT_LOAD) {
        continue;
      }
      boolean physical = ph.paddr() != -1;
      loads.add(new KcoreLoad(hex(ph.vaddr()), physical ? hex(ph.paddr()) : null, hex(ph.memorySize())));
      boolean lowerKernelHalf = Long.compareUnsigned(ph.vaddr(), KERNEL_HALF_START) >= 0
          && Long.compareUnsigned(ph.vaddr(), KERNEL_IMAGE_START) < 0;
      if (physical && lowerKernelHalf) {
        long base = ph.vaddr() - ph.paddr();
        if (directMap != null && directMap != base) {
          throw new DatasetException("ground truth: /proc/kcore RAM segments disagree on the direct-map base");
        }
        directMap = base;
      } else if (physical) {
        textVirtual = ph.vaddr();
      } else if (lowerKernelHalf && Long.compareUnsigned(ph.memorySize(), vmallocSize) > 0) {
        vmalloc = ph.vaddr();
        vmallocSize = ph.memorySize();
      }
    }
    // vmemmap: the struct-page array of RAM, the remaining unphysical segments of the lower kernel half; its
    // KASLR base is 1 GiB aligned and this guest's RAM needs far less than 1 GiB of it.
    Long vmemmap = null;
    for (Elf64.ProgramHeader ph : kcore.programHeaders()) {
      boolean lowerKernelHalf = Long.compareUnsigned(ph.vaddr(), KERNEL_HALF_START) >= 0
          && Long.compareUnsigned(ph.vaddr(), KERNEL_IMAGE_START) < 0;
      if (ph.type() == Elf64.PT_LOAD && ph.paddr() == -1 && lowerKernelHalf && !Long.valueOf(ph.vaddr()).equals(vmalloc)
          && (vmemmap == null || Long.compareUnsigned(ph.vaddr(), vmemmap) < 0)) {
        vmemmap = ph.vaddr();
      }
    }
    String kernelCode = null;
    for (String line : require(items, "proc/iomem").split("\n")) {
      if (line.trim().endsWith(": Kernel code")) {
        kernelCode = hex(Long.parseUnsignedLong(line.trim().split("-")[0], 16));
      }
    }
    return new Layout(symbols, loads, directMap == null ? null : hex(directMap),
        vmalloc == null ? null : hex(vmalloc), vmemmap == null ? null : hex(vmemmap & -ONE_GIB),
        textVirtual == null ? null : hex(textVirtual), kernelCode);
  }

  /** The bytes of an {@code od -A x -t x1 -v} listing. */
  static byte[] odBytes(String od) {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    for (String line : od.split("\n")) {
      String[] f = line.trim().split("\\s+");
      for (int i = 1; i < f.length; i++) {
        out.write(Integer.parseInt(f[i], 16));
      }
    }
    return out.toByteArray();
  }

  static String hex(long value) {
    return "0x" + Long.toHexString(value);
  }

  private static int parseInt(String s) throws DatasetException {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      throw new DatasetException("ground truth: '" + s + "' is not a number", e);
    }
  }

  private static int parseIntOr(String s) {
    try {
      return Integer.parseInt(s);
    } catch (NumberFormatException e) {
      return Integer.MAX_VALUE;
    }
  }

  private static Integer firstInt(String field) {
    if (field == null || field.isBlank()) {
      return null;
    }
    return Integer.valueOf(field.trim().split("\\s+")[0]);
  }
}
