package io.hybridbridge.runners.bench;

import io.hybridbridge.runners.flink.FlinkRest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Samples, every half second while a scan runs, the resident memory of each worker process (Linux
 * {@code /proc/<pid>/status} VmRSS) and, on Flink, each TaskManager's JVM heap in use as its REST API reports it;
 * keeps the peaks. Also the CPU time each worker spent meanwhile ({@code /proc/<pid>/stat} utime + stime): unlike
 * wall time it hardly moves with what else runs on the machine. A sample that cannot be taken (a process that
 * ended, a REST call that failed) is skipped.
 */
final class MemorySampler implements AutoCloseable {
  private static final long PERIOD_MILLIS = 500;
  /** USER_HZ: what Linux reports CPU times of /proc/<pid>/stat in, 100 on every mainstream architecture. */
  private static final int CLOCK_TICKS_PER_SECOND = 100;

  /** A worker: a name, and where its pid comes from (it may not exist yet when sampling starts). */
  record Worker(String name, Supplier<Optional<Long>> pid) {}

  private final List<Worker> workers;
  private final FlinkRest flink;
  private final Map<String, Long> peakRss = new LinkedHashMap<>();
  private final Map<String, Long> peakHeap = new LinkedHashMap<>();
  private final Map<String, Long> firstCpuTicks = new LinkedHashMap<>();
  private final Map<String, Long> lastCpuTicks = new LinkedHashMap<>();
  private boolean firstSample = true;
  private final Thread thread;
  private volatile boolean running = true;

  /** Starts sampling {@code workers}, and the TaskManagers of {@code flink} when it is not null. */
  MemorySampler(List<Worker> workers, FlinkRest flink) {
    this.workers = List.copyOf(workers);
    this.flink = flink;
    this.thread = new Thread(this::run, "memory-sampler");
    thread.setDaemon(true);
    thread.start();
  }

  private void run() {
    while (running) {
      sampleOnce();
      try {
        Thread.sleep(PERIOD_MILLIS);
      } catch (InterruptedException e) {
        return;
      }
    }
  }

  private synchronized void sampleOnce() {
    for (Worker w : workers) {
      Optional<Long> pid = w.pid().get();
      pid.flatMap(MemorySampler::residentBytes).ifPresent(rss -> peakRss.merge(w.name(), rss, Math::max));
      pid.flatMap(MemorySampler::cpuTicks).ifPresent(ticks -> {
        // a process already running when sampling began counts from then; one that started later, from its start
        firstCpuTicks.putIfAbsent(w.name(), firstSample ? ticks : 0L);
        lastCpuTicks.put(w.name(), ticks);
      });
    }
    firstSample = false;
    if (flink != null) {
      try {
        List<String> ids = flink.taskManagerIds();
        for (String id : ids) {
          long heap = flink.taskManagerMetric(id, "Status.JVM.Memory.Heap.Used");
          if (heap >= 0) {
            peakHeap.merge(id, heap, Math::max);
          }
        }
      } catch (IOException e) {
        // the next sample tries again
      }
    }
  }

  /** VmRSS of a live process, in bytes. */
  static Optional<Long> residentBytes(long pid) {
    try {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          return Optional.of(Long.parseLong(line.replaceAll("\\D", "")) * 1024);
        }
      }
    } catch (IOException | NumberFormatException e) {
      // ended between the listing and the read
    }
    return Optional.empty();
  }

  /** utime + stime of a live process, in clock ticks (fields 14 and 15 of /proc/<pid>/stat). */
  static Optional<Long> cpuTicks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" "); // the name may hold spaces
      return Optional.of(Long.parseLong(fields[11]) + Long.parseLong(fields[12]));
    } catch (IOException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /** The peaks so far per worker name, and the CPU seconds all workers spent since sampling began. */
  synchronized Peaks peaks() {
    sampleOnce();
    long ticks = 0;
    for (Map.Entry<String, Long> last : lastCpuTicks.entrySet()) {
      ticks += last.getValue() - firstCpuTicks.get(last.getKey());
    }
    return new Peaks(Map.copyOf(peakRss), Map.copyOf(peakHeap), ticks / (double) CLOCK_TICKS_PER_SECOND);
  }

  @Override
  public void close() {
    running = false;
    thread.interrupt();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Peak resident memory per worker, peak heap in use per Flink TaskManager id (empty on Direct), and CPU seconds
   * of all workers (last sample; the Direct scan's JVM is sampled until it exits, so its last half second is lost).
   */
  record Peaks(Map<String, Long> rssBytes, Map<String, Long> heapBytes, double cpuSeconds) {}
}
