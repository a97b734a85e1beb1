package io.hybridbridge.taint.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.emulator.tools.CapturedKernel;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.schemas.ProcessRow;
import io.hybridbridge.schemas.SocketRow;
import io.hybridbridge.schemas.SystemRow;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.avro.specific.SpecificRecord;

/**
 * A tool's rows against what the guest printed before the dump (the same tool script run on {@link CapturedKernel}),
 * minus what can change between the capture and the dump, each difference allowed with its reason:
 * <ul>
 *   <li>transient processes (transient.json: the capture script and its children, gone at the dump);
 *   <li>kworker names: procfs appends the workqueue of the work a worker runs ({@code kworker/u8:2+events_unbound})
 *       or ran last ({@code kworker/0:1-events}), which changes;
 *   <li>kernel threads the kernel started after the capture listed the processes: children of kthreadd (pid 2) with a
 *       pid above every pid the capture listed (workqueue pools add workers on demand, at any time; with two vCPUs
 *       one can start on the other CPU while the capture runs);
 *   <li>process state may change; the rss of the shell that ran the capture script may change (it waits for the
 *       script, prints the ready marker and reads the next command between the capture and the dump; measured on
 *       6.12, whose per-CPU rss counters fold in batches: 363 pages at the capture, 400 in the dump);
 *   <li>sockets are matched by inode (the kernel hashes the pointers it prints);
 *   <li>uptime and idle time: the truth was read during the capture, the kernel's clock is taken a tenth of a second
 *       after its last update before the dump, so it lies between the truth and the truth plus the capture-to-dump
 *       time (at least 1.1 s here).
 * </ul>
 */
public final class GroundTruth {
  private GroundTruth() {}

  /** The differences between {@code actual} and the truth of {@code truthDir}; empty when they agree. */
  public static List<String> differences(InspectionTool tool, List<? extends SpecificRecord> actual, Path truthDir,
      RowContext context) throws Exception {
    List<? extends SpecificRecord> expected = tool.run(CapturedKernel.open(truthDir), context);
    List<String> diffs = new ArrayList<>();
    if (actual.isEmpty() && !expected.isEmpty()) {
      diffs.add(tool.name() + ": no rows, but the guest printed " + expected.size());
    }
    switch (tool.name()) {
      case "ps" -> {
        JsonNode truth = truth(truthDir);
        int captureShell = captureParent(truth);
        int lastListed = lastListedPid(truth);
        List<? extends SpecificRecord> compared = actual.stream()
            .filter(r -> !(((ProcessRow) r).getPpid() == KTHREADD && ((ProcessRow) r).getPid() > lastListed))
            .toList();
        compareKeyed(diffs, expected, compared, r -> ((ProcessRow) r).getPid(), r -> processView(r, captureShell));
      }
      case "netstat" -> compareKeyed(diffs, expected, actual, r -> ((SocketRow) r).getInode(), r -> r);
      case "system" -> compareSystem(diffs, (SystemRow) expected.get(0), (SystemRow) actual.get(0), truthDir);
      default -> {
        if (!expected.equals(actual)) {
          diffs.add(tool.name() + ": expected " + expected + "\n  but got " + actual);
        }
      }
    }
    return diffs;
  }

  /** The kernel's thread that starts every other kernel thread. */
  private static final int KTHREADD = 2;

  /** truth.json's "truth": what the capture printed, parsed. */
  private static JsonNode truth(Path truthDir) throws Exception {
    return new ObjectMapper().readTree(truthDir.resolve("truth.json").toFile()).path("truth");
  }

  /** The largest pid the capture listed (its own and its children's included: pids only grow in these boots). */
  private static int lastListedPid(JsonNode truth) {
    int last = 0;
    for (JsonNode p : truth.path("processes")) {
      last = Math.max(last, p.path("pid").asInt());
    }
    return last;
  }

  /** The pid of the process that ran the capture script (truth.json: capturePid's ppid), or -1. */
  private static int captureParent(JsonNode truth) {
    int capture = truth.path("capturePid").asInt(-1);
    for (JsonNode p : truth.path("processes")) {
      if (p.path("pid").asInt() == capture) {
        return p.path("ppid").asInt(-1);
      }
    }
    return -1;
  }

  private static Object processView(SpecificRecord r, int captureShell) {
    ProcessRow p = ProcessRow.newBuilder((ProcessRow) r).build();
    if (p.getPid() == captureShell) {
      p.setRssPages(-1);
    }
    if (p.getComm().startsWith("kworker/")) {
      p.setComm(p.getComm().replaceFirst("[-+].*", ""));
    }
    p.setState("-"); // may change between capture and dump
    return p;
  }

  private static void compareKeyed(List<String> diffs, List<? extends SpecificRecord> expected,
      List<? extends SpecificRecord> actual, Function<SpecificRecord, Object> key,
      Function<SpecificRecord, Object> view) {
    Map<String, Object> e = new TreeMap<>();
    Map<String, Object> a = new TreeMap<>();
    expected.forEach(r -> e.put(String.valueOf(key.apply(r)), view.apply(r)));
    actual.forEach(r -> a.put(String.valueOf(key.apply(r)), view.apply(r)));
    if (!e.keySet().equals(a.keySet())) {
      Map<String, Object> missing = new TreeMap<>(e);
      missing.keySet().removeAll(a.keySet());
      Map<String, Object> extra = new TreeMap<>(a);
      extra.keySet().removeAll(e.keySet());
      diffs.add("keys: expected " + e.keySet() + "\n  but got " + a.keySet() + "\n  missing " + missing.values()
          + "\n  not in the truth " + extra.values());
    }
    e.forEach((k, v) -> {
      if (a.containsKey(k) && !Objects.equals(v, a.get(k))) {
        diffs.add(k + ": expected " + v + "\n  but got " + a.get(k));
      }
    });
  }

  private static void within(List<String> diffs, String what, double actual, double truth, double window) {
    if (actual < truth - 0.01 || actual > truth + window + 0.01) {
      diffs.add(String.format("%s %.2f is not within [%.2f, %.2f] (truth + capture-to-dump time)", what, actual,
          truth, truth + window));
    }
  }

  private static void compareSystem(List<String> diffs, SystemRow expected, SystemRow actual, Path truthDir)
      throws Exception {
    JsonNode times = new ObjectMapper().readTree(truthDir.resolve("truth.json").toFile()).path("hostTimes");
    double window = (times.path("dumpEndMillis").asLong() - times.path("captureStartMillis").asLong()) / 1000.0;
    within(diffs, "uptime", actual.getUptimeSeconds(), expected.getUptimeSeconds(), window);
    within(diffs, "idle time", actual.getIdleSeconds(), expected.getIdleSeconds(), window);
    SystemRow e = SystemRow.newBuilder(expected).setUptimeSeconds(0).setIdleSeconds(0).build();
    SystemRow a = SystemRow.newBuilder(actual).setUptimeSeconds(0).setIdleSeconds(0).build();
    if (!e.equals(a)) {
      diffs.add("system: expected " + e + "\n  but got " + a);
    }
  }
}
