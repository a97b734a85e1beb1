package io.hybridbridge.emulator.machine;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.DirentParser;
import io.hybridbridge.emulator.tools.KernelCalls;
import io.hybridbridge.emulator.tools.ProcessParser;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.SystemParser;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.schemas.ProcessRow;
import io.hybridbridge.schemas.SystemRow;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * On every reference of the default dataset, with no redirection, the trusted kernel's own system calls answer
 * what the guest printed just before the dump (its ground truth, through the same tools and {@code
 * CapturedKernel}): getpid, uname, /proc/version, /proc/uptime, /proc/modules, /proc/net/*, /proc/1/mounts,
 * getdents64 of /proc, and /proc/&lt;pid&gt;/stat and cmdline of every process.
 *
 * <p>A reference is a clean boot: no module is loaded and no socket is open (the workloads are in the fleet
 * snapshots, for redirection), so /proc/modules and /proc/net/* are their headers, compared all the same.
 *
 * <p>What legitimately differs, and how it is accounted for. The capture ran ≈ 10 s before the dump:
 * <ul>
 *   <li>The capture script and its children ended before the dump (the dataset's transient.json; {@code
 *       CapturedKernel} leaves them out). The agent started after the capture: it is the one process the dump has
 *       and the capture has not, and it is checked on its own (agent.json: pid, executable, running).
 *   <li>Kernel threads the kernel started after the capture: children of kthreadd (pid 2) with a pid above every pid
 *       the capture listed (workqueue pools add workers on demand; a reference made on a fresh machine had a
 *       {@code kworker/0:2-pm} the capture had not), as {@code GroundTruth} allows in fleet snapshots.
 *   <li>/proc/&lt;pid&gt;/stat: fields that count what a process did since — page faults (10-13), CPU times
 *       of it and its children (14-17), resident pages (24) — are not compared; all others must be equal. A
 *       kworker's name carries the workqueue it runs after a '+', or the one it ran last after a '-' (procfs adds
 *       them): only the task's name is compared.
 *   <li>/proc/uptime: see {@link #uptimeWindow}.
 * </ul>
 */
@Tag("dataset")
class ReferenceSyscallsTest {
  private static final List<String> SAME_TEXT = List.of("/proc/version", "/proc/modules", "/proc/net/tcp",
      "/proc/net/tcp6", "/proc/net/udp", "/proc/net/udp6", "/proc/net/unix", "/proc/net/raw", "/proc/1/mounts");
  private static final int KTHREADD = 2;
  /**
   * Fields of /proc/<pid>/stat (1-based) that change as a process runs: faults, times, resident pages; and its state,
   * whether it waits (wchan) and its last CPU, which differ when the dump, after the capture, caught it running (a 6.1
   * reference made on 2026-11-28 had its agent's shell R, not waiting, on CPU 0, where the capture printed S, waiting,
   * on CPU 1).
   */
  private static final Set<Integer> ACTIVITY_FIELDS = Set.of(3, 10, 11, 12, 13, 14, 15, 16, 17, 24, 35, 39);

  @Test
  void everyReferenceAnswersWhatItsGuestPrinted() throws Exception {
    for (ReferenceStore.Reference ref : ReferenceGuest.references()) {
      ReferenceGuest guest = ReferenceGuest.of(ref);
      String id = ref.id();
      try (KernelMachine m = KernelMachine.open(ref)) {
        KernelCalls ours = m.calls();
        KernelCalls theirs = guest.captured();
        RowContext context = new RowContext(id, null, ref.kernelBuild());

        assertThat(m.syscall(Syscalls.GETPID)).as(id + " getpid").isEqualTo(guest.agentPid());
        assertThat(SystemParser.parseUtsname(ours.uname())).as(id + " uname")
            .isEqualTo(SystemParser.parseUtsname(theirs.uname()));
        for (String path : SAME_TEXT) {
          assertThat(text(ours.readFile(path))).as(id + " " + path).isEqualTo(text(theirs.readFile(path)));
        }
        assertThat(m.runTool(Tools.LSMOD, context)).as(id + " lsmod").isEqualTo(Tools.LSMOD.run(theirs, context));
        assertThat(m.runTool(Tools.NETSTAT, context)).as(id + " netstat")
            .isEqualTo(Tools.NETSTAT.run(theirs, context));
        assertThat(m.runTool(Tools.MOUNT, context)).as(id + " mount").isEqualTo(Tools.MOUNT.run(theirs, context))
            .isNotEmpty();

        SystemRow system = (SystemRow) m.runTool(Tools.SYSTEM, context).get(0);
        SystemRow printed = (SystemRow) Tools.SYSTEM.run(theirs, context).get(0);
        double[] window = uptimeWindow(guest);
        assertThat(system.getUptimeSeconds()).as(id + " uptime at the dump (printed %.2f at the capture)",
            printed.getUptimeSeconds()).isBetween(window[0], window[1]);
        assertThat(system.getIdleSeconds()).as(id + " idle time").isBetween(printed.getIdleSeconds(),
            system.getUptimeSeconds());
        double uptime = system.getUptimeSeconds();
        system.setUptimeSeconds(printed.getUptimeSeconds());
        system.setIdleSeconds(printed.getIdleSeconds());
        assertThat(system).as(id + " uname and /proc/version").isEqualTo(printed);

        m.reset();
        Set<String> capturedPids = pids(theirs);
        Set<Integer> late = lateKernelThreads(ours, capturedPids);
        Set<String> pids = pids(ours);
        late.forEach(pid -> pids.remove(Integer.toString(pid)));
        Set<String> expected = new TreeSet<>(capturedPids);
        expected.add(Integer.toString(guest.agentPid()));
        assertThat(pids).as(id + " getdents64 /proc: the guest's processes and the agent").isEqualTo(expected);
        for (String pid : capturedPids) {
          assertThat(stableStat(ours.readFile("/proc/" + pid + "/stat"))).as(id + " /proc/" + pid + "/stat")
              .isEqualTo(stableStat(theirs.readFile("/proc/" + pid + "/stat")));
          assertThat(ours.readFile("/proc/" + pid + "/cmdline")).as(id + " /proc/" + pid + "/cmdline")
              .isEqualTo(theirs.readFile("/proc/" + pid + "/cmdline"));
        }
        String agentDir = "/proc/" + guest.agentPid() + "/";
        String executable = guest.agentExecutable();
        String agentName = executable.substring(executable.lastIndexOf('/') + 1);
        assertThat(text(ours.readFile(agentDir + "stat"))).as(id + " the agent's stat: running, its name")
            .startsWith(guest.agentPid() + " (" + agentName.substring(0, Math.min(15, agentName.length())) + ") R ");
        assertThat(text(ours.readFile(agentDir + "cmdline"))).as(id + " the agent's cmdline").isEqualTo(executable
            + "\0");
        long instructions = m.instructions();

        List<ProcessRow> processes = processes(m.runTool(Tools.PS, context), guest.agentPid());
        processes.removeIf(p -> late.contains(p.getPid()));
        assertThat(processes).as(id + " ps (activity masked)")
            .isEqualTo(processes(Tools.PS.run(theirs, context), guest.agentPid()));
        System.out.printf("%s: getpid, uname, %d /proc files, %d processes' stat and cmdline, ps, lsmod, netstat, "
            + "mount and uptime %.2f s at the dump agree with the guest (%,d instructions for the per-pid reads; "
            + "kernel threads started after the capture: %s)%n", id, SAME_TEXT.size(), capturedPids.size(), uptime,
            instructions, late);
      }
    }
  }

  /**
   * Where the uptime the kernel reports at the dump must lie. The guest printed {@code u} (truncated to 0.01 s)
   * at a host time within [captureStart, captureEnd]; the dump paused it within [dumpStart, dumpEnd] (truth.json
   * hostTimes). So the uptime at the dump is within [u + dumpStart − captureEnd, u + 0.01 + dumpEnd −
   * captureStart], widened by 0.02 s (our own 0.01 s truncation; the machine's clock is the kernel's last tick,
   * at most 4 ms before the dump) and by 0.5 % of the interval (the guest's clock, TSC at a rate calibrated at
   * boot under TCG, against the host's wall clock).
   */
  static double[] uptimeWindow(ReferenceGuest g) {
    double u = g.capturedUptime();
    double shortest = (g.dumpStartMillis() - g.captureEndMillis()) / 1000.0;
    double longest = (g.dumpEndMillis() - g.captureStartMillis()) / 1000.0;
    double slack = 0.02 + 0.005 * longest;
    return new double[] {u + shortest - slack, u + 0.01 + longest + slack};
  }

  /** Pids of {@code kernel} that are children of kthreadd above every pid of {@code captured}. */
  private static Set<Integer> lateKernelThreads(KernelCalls kernel, Set<String> captured) throws Exception {
    int highest = captured.stream().mapToInt(Integer::parseInt).max().orElse(0);
    Set<Integer> late = new TreeSet<>();
    for (String pid : pids(kernel)) {
      if (Integer.parseInt(pid) > highest
          && ProcessParser.parseStat(text(kernel.readFile("/proc/" + pid + "/stat"))).ppid() == KTHREADD) {
        late.add(Integer.parseInt(pid));
      }
    }
    return late;
  }

  private static Set<String> pids(KernelCalls kernel) throws Exception {
    return kernel.listDirectory("/proc").stream().map(DirentParser.Dirent::name)
        .filter(n -> n.chars().allMatch(Character::isDigit)).collect(Collectors.toCollection(TreeSet::new));
  }

  /** A stat line with the activity fields blanked and a kworker's workqueue suffix dropped. */
  private static List<String> stableStat(byte[] raw) {
    String line = text(raw).strip();
    int open = line.indexOf('(');
    int close = line.lastIndexOf(')');
    String comm = line.substring(open + 1, close);
    if (comm.startsWith("kworker/")) {
      comm = comm.replaceFirst("[-+].*", "");
    }
    List<String> fields = new ArrayList<>(List.of(line.substring(0, open).strip(), comm));
    fields.addAll(List.of(line.substring(close + 1).strip().split(" ")));
    for (int f : ACTIVITY_FIELDS) {
      fields.set(f - 1, "*");
    }
    return fields;
  }

  /**
   * ps rows by pid without the agent, state and resident pages blanked (they change as a process runs, see {@link
   * #ACTIVITY_FIELDS}), kworker names as the task holds them.
   */
  private static List<ProcessRow> processes(List<?> rows, int agentPid) {
    List<ProcessRow> out = new ArrayList<>();
    for (Object o : rows) {
      ProcessRow p = ProcessRow.newBuilder((ProcessRow) o).build();
      if (p.getPid() == agentPid) {
        continue;
      }
      p.setRssPages(0);
      p.setState("*");
      String comm = p.getComm();
      if (comm.startsWith("kworker/")) {
        p.setComm(comm.replaceFirst("[-+].*", ""));
      }
      out.add(p);
    }
    out.sort(java.util.Comparator.comparingInt(ProcessRow::getPid));
    return out;
  }

  private static String text(byte[] raw) {
    return new String(raw, UTF_8);
  }
}
