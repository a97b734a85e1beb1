package io.hybridbridge.runners.bench;

import io.hybridbridge.pipeline.CommittedScan;
import io.hybridbridge.pipeline.ParquetTables;
import io.hybridbridge.pipeline.Scan;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What a scan's {@code status} table says about its speed: per snapshot the wall time of all its tools summed
 * (fast path plus slow path after a fallback, on the worker), the outcomes and the fallbacks.
 *
 * @param perSnapshotMillis sorted ascending, one value per list entry that ran at least one tool
 * @param perFileMillis the same for one entry per distinct file: a scan inspects a file listed under several
 *     entries once and copies its rows, wall times included, to the others
 */
record StatusLatencies(List<Long> perSnapshotMillis, List<Long> perFileMillis, int okFast, int okSlow, int failed,
    long fallbacks) {

  static StatusLatencies read(Path out, LocalDate date) throws BenchException {
    Path dir = ParquetTables.tableDir(out, date, Scan.STATUS);
    Map<String, Long> bySnapshot = new HashMap<>();
    Map<String, String> firstEntryOfFile = new HashMap<>();
    if (!Files.isDirectory(dir)) {
      throw new BenchException("no status table in " + dir);
    }
    int[] outcomes = new int[3];
    long[] fallbacks = {0};
    try {
      CommittedScan.forEachRow(dir, row -> {
        if (row.get("tool") == null) {
          outcomes[2]++; // failed before any tool
          return;
        }
        String id = row.get("snapshot_id").toString();
        bySnapshot.merge(id, (Long) row.get("wall_ms"), Long::sum);
        firstEntryOfFile.merge(row.get("path").toString(), id, (a, b) -> a.compareTo(b) <= 0 ? a : b);
        fallbacks[0] += (Integer) row.get("fallbacks");
        switch (row.get("outcome").toString()) {
          case "OK_FAST" -> outcomes[0]++;
          case "OK_SLOW" -> outcomes[1]++;
          default -> outcomes[2]++;
        }
      });
    } catch (IOException e) {
      throw new BenchException(e.getMessage(), e);
    }
    List<Long> sorted = new ArrayList<>(bySnapshot.values());
    Collections.sort(sorted);
    List<Long> perFile = new ArrayList<>(firstEntryOfFile.values().stream().map(bySnapshot::get).toList());
    Collections.sort(perFile);
    return new StatusLatencies(List.copyOf(sorted), List.copyOf(perFile), outcomes[0], outcomes[1], outcomes[2],
        fallbacks[0]);
  }

  /** The tools' time summed over distinct files, in seconds: the inspection work the scan did. */
  double toolSeconds() {
    return perFileMillis.stream().mapToLong(Long::longValue).sum() / 1e3;
  }

  /** The nearest-rank percentile {@code p} (0–100) of the per-snapshot times, in ms; 0 when nothing ran. */
  long percentile(double p) {
    if (perSnapshotMillis.isEmpty()) {
      return 0;
    }
    int rank = (int) Math.ceil(p / 100 * perSnapshotMillis.size());
    return perSnapshotMillis.get(Math.max(0, rank - 1));
  }
}
