package io.hybridbridge.runners.flink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.beam.runners.flink.metrics.FlinkMetricContainer;
import org.apache.beam.sdk.util.VarInt;

/**
 * The Beam counters of a job while it runs on a Flink cluster, read through the cluster's REST API. (The
 * FlinkRunner's own {@code PipelineResult} has them only once the job is over, and its {@code run} blocks until
 * then.) The FlinkRunner keeps a job's Beam metrics in one Flink accumulator ({@link
 * FlinkMetricContainer#ACCUMULATOR_NAME}); the REST API shows it as Beam's metric results in JSON: monitoring infos
 * with a urn, labels and a base64 payload, a counter's payload being its value as a varint. TaskManagers report
 * accumulators with their heartbeats (Flink's {@code heartbeat.interval}), so the values lag by up to that.
 */
public final class FlinkJobCounters {
  private static final String USER_COUNTER = "beam:metric:user:sum_int64:v1";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A job of the cluster, its Flink state, and its counters of one namespace summed over steps. */
  public record Sample(String jobId, String state, Map<String, Long> counters) {}

  private FlinkJobCounters() {}

  /** The newest job named {@code jobName}, if the cluster has one, with its counters in {@code namespace}. */
  public static Optional<Sample> read(FlinkRest rest, String jobName, String namespace) throws IOException {
    Optional<FlinkRest.Job> job = rest.jobs().stream().filter(j -> j.name().equals(jobName)).findFirst();
    if (job.isEmpty()) {
      return Optional.empty();
    }
    String metrics = rest.userAccumulators(job.get().id()).get(FlinkMetricContainer.ACCUMULATOR_NAME);
    return Optional.of(new Sample(job.get().id(), job.get().state(),
        metrics == null ? Map.of() : counters(metrics, namespace)));
  }

  /** The user counters of {@code namespace} in the text of Beam's metrics accumulator, summed over steps. */
  static Map<String, Long> counters(String accumulatorText, String namespace) throws IOException {
    Map<String, Long> totals = new TreeMap<>();
    for (JsonNode info : JSON.readTree(accumulatorText).path("metrics").path("attempted")) {
      JsonNode labels = info.path("labels");
      if (info.path("urn").asText().equals(USER_COUNTER) && labels.path("NAMESPACE").asText().equals(namespace)) {
        byte[] payload = Base64.getDecoder().decode(info.path("payload").asText());
        totals.merge(labels.path("NAME").asText(), VarInt.decodeLong(new ByteArrayInputStream(payload)), Long::sum);
      }
    }
    return totals;
  }
}
