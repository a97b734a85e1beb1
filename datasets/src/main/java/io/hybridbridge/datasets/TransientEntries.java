package io.hybridbridge.datasets;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The ground-truth entries known to be transient at dump time ({@code transient.json}): the capture script, its
 * children, and processes that started or ended while the capture ran. A comparison against a dump should
 * ignore them.
 */
public record TransientEntries(List<Entry> processes, List<String> notes) {
  public record Entry(int pid, String comm, String reason) {}

  /** Always-true caveats when comparing with what an inspection of the dump reports. */
  static final List<String> NOTES = List.of(
      "kworker names: procfs shows e.g. kworker/0:1-events (last ran) or kworker/0:1+events (runs),"
          + " the task's comm is kworker/0:1",
      "socket pointers in /proc/net/* are hashed or hidden: match sockets by inode",
      "ps args of a process that has not exec'd yet is its parent's command line");

  static TransientEntries of(GroundTruth truth) {
    Map<Integer, List<Integer>> children = new HashMap<>();
    for (GroundTruth.Process p : truth.processes()) {
      if (p.ppid() != null) {
        children.computeIfAbsent(p.ppid(), k -> new ArrayList<>()).add(p.pid());
      }
    }
    Map<Integer, GroundTruth.Process> byPid = new HashMap<>();
    truth.processes().forEach(p -> byPid.put(p.pid(), p));
    List<Entry> entries = new ArrayList<>();
    Set<Integer> listed = new HashSet<>();
    List<Integer> todo = new ArrayList<>(List.of(truth.capturePid()));
    while (!todo.isEmpty()) {
      int pid = todo.remove(todo.size() - 1);
      if (!listed.add(pid)) {
        continue;
      }
      GroundTruth.Process p = byPid.get(pid);
      entries.add(new Entry(pid, comm(p), pid == truth.capturePid()
          ? "the ground-truth capture script (exits before the dump)" : "a child of the capture script"));
      todo.addAll(children.getOrDefault(pid, List.of()));
    }
    for (GroundTruth.Process p : truth.processes()) {
      if (listed.contains(p.pid())) {
        continue;
      }
      if (p.ps() == null) {
        entries.add(new Entry(p.pid(), p.comm(), "started during the capture (not in ps)"));
      } else if (p.comm() == null) {
        entries.add(new Entry(p.pid(), p.ps().comm(), "ended during the capture (no /proc/<pid>/stat)"));
      }
    }
    return new TransientEntries(entries, NOTES);
  }

  /** The task's comm, or what ps saw when the process was gone before its /proc/<pid>/stat was read. */
  private static String comm(GroundTruth.Process p) {
    if (p == null) {
      return null;
    }
    return p.comm() != null ? p.comm() : p.ps() == null ? null : p.ps().comm();
  }

  boolean contains(int pid) {
    return processes.stream().anyMatch(e -> e.pid() == pid);
  }
}
