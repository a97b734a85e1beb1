package io.hybridbridge.pipeline;

import java.util.Map;
import java.util.TreeMap;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.metrics.MetricNameFilter;
import org.apache.beam.sdk.metrics.MetricQueryResults;
import org.apache.beam.sdk.metrics.MetricResult;
import org.apache.beam.sdk.metrics.Metrics;
import org.apache.beam.sdk.metrics.MetricsFilter;

/**
 * The scan's Beam counters: the stages count what they finish, the launcher polls them for progress and sums them
 * for the summary (on every runner that reports metrics).
 */
public final class ScanCounters {
  public static final String NAMESPACE = "hb.scan";

  /** Snapshots identified (build known, reference found). */
  public static final String IDENTIFIED = "identified";
  /** Snapshots that failed before any tool (a FAILED status row each). */
  public static final String IDENTIFY_FAILED = "identify_failed";
  /** (build, tool) pairs trained on a sample, and training runs that failed. */
  public static final String TRAINED = "trained";
  public static final String TRAINING_FAILED = "training_failed";
  /** (snapshot, tool) inspections by final outcome. */
  public static final String OK_FAST = "ok_fast";
  public static final String OK_SLOW = "ok_slow";
  public static final String FAILED = "failed";
  /** Fast-path fallbacks (each one sends its (snapshot, tool) to re-training). */
  public static final String FALLBACKS = "fallbacks";
  /** Rows written to the tool tables. */
  public static final String ROWS = "rows";
  /** Rows of any table copied to a further entry of the same file ({@link SameFile}). */
  public static final String COPIED_ROWS = "copied_rows";
  /** New metadata store versions committed. */
  public static final String METADATA_COMMITS = "metadata_commits";
  /** Fast paths an inspector closed to keep at most its bound open (BridgeEngine): reopened when met again. */
  public static final String FAST_PATHS_CLOSED = "fast_paths_closed";

  private ScanCounters() {}

  static Counter counter(String name) {
    return Metrics.counter(NAMESPACE, name);
  }

  /** Attempted values of every scan counter so far, summed over steps (missing counters are 0). */
  public static Map<String, Long> read(PipelineResult result) {
    MetricQueryResults metrics = result.metrics().queryMetrics(MetricsFilter.builder()
        .addNameFilter(MetricNameFilter.inNamespace(NAMESPACE)).build());
    Map<String, Long> totals = new TreeMap<>();
    for (MetricResult<Long> counter : metrics.getCounters()) {
      Long value = counter.getAttempted();
      totals.merge(counter.getName().getName(), value == null ? 0 : value, Long::sum);
    }
    return totals;
  }
}
