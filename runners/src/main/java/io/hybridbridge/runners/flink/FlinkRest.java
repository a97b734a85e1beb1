package io.hybridbridge.runners.flink;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The few read-only calls of Flink's REST API that tell whether a cluster is up and what ran on it. */
public final class FlinkRest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private final URI base;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(TIMEOUT).build();

  /** A client of the REST endpoint at {@code base}, e.g. {@code http://127.0.0.1:8081}. */
  public FlinkRest(URI base) {
    this.base = base;
  }

  /** The REST API of {@code --flinkMaster=host:port}. */
  public static FlinkRest ofMaster(String master) {
    return new FlinkRest(URI.create("http://" + master));
  }

  public URI base() {
    return base;
  }

  /** {@code GET /overview}: TaskManagers, slots, job counts, version. */
  public Overview overview() throws IOException {
    JsonNode o = get("/overview");
    return new Overview(o.path("taskmanagers").asInt(), o.path("slots-total").asInt(),
        o.path("slots-available").asInt(), o.path("jobs-running").asInt(), o.path("jobs-finished").asInt(),
        o.path("jobs-cancelled").asInt(), o.path("jobs-failed").asInt(), o.path("flink-version").asText());
  }

  /** {@code GET /jobs/overview}: every job the cluster knows, newest first. */
  public List<Job> jobs() throws IOException {
    List<Job> jobs = new ArrayList<>();
    for (JsonNode j : get("/jobs/overview").path("jobs")) {
      jobs.add(new Job(j.path("jid").asText(), j.path("name").asText(), j.path("state").asText(),
          j.path("start-time").asLong(), j.path("duration").asLong(), j.path("tasks").path("total").asInt()));
    }
    jobs.sort(Comparator.comparingLong(Job::startTimeMillis).reversed());
    return jobs;
  }

  /** {@code GET /taskmanagers}: the ids of the registered TaskManagers. */
  public List<String> taskManagerIds() throws IOException {
    List<String> ids = new ArrayList<>();
    for (JsonNode tm : get("/taskmanagers").path("taskmanagers")) {
      ids.add(tm.path("id").asText());
    }
    return ids;
  }

  /**
   * {@code GET /taskmanagers/<id>/metrics?get=<metric>}: one numeric metric of a TaskManager (for example
   * {@code Status.JVM.Memory.Heap.Used}), or -1 when the TaskManager does not report it (yet).
   */
  public long taskManagerMetric(String taskManagerId, String metric) throws IOException {
    String path = "/taskmanagers/" + URLEncoder.encode(taskManagerId, StandardCharsets.UTF_8)
        + "/metrics?get=" + metric;
    for (JsonNode m : get(path)) {
      if (m.path("id").asText().equals(metric)) {
        return (long) m.path("value").asDouble(-1);
      }
    }
    return -1;
  }

  /**
   * {@code GET /jobs/<id>/accumulators}: the job's user accumulators by name, as the REST API shows them (their
   * values as text). While the job runs, they are what the TaskManagers last reported with their heartbeats.
   */
  public Map<String, String> userAccumulators(String jobId) throws IOException {
    Map<String, String> accumulators = new LinkedHashMap<>();
    for (JsonNode a : get("/jobs/" + jobId + "/accumulators").path("user-task-accumulators")) {
      accumulators.put(a.path("name").asText(), a.path("value").asText());
    }
    return accumulators;
  }

  private JsonNode get(String path) throws IOException {
    HttpRequest request = HttpRequest.newBuilder(base.resolve(path)).timeout(TIMEOUT).GET().build();
    HttpResponse<String> response;
    try {
      response = http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IOException("GET " + request.uri() + ": " + (e.getMessage() == null
          ? e.getClass().getSimpleName() : e.getMessage()), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted during GET " + request.uri(), e);
    }
    if (response.statusCode() != 200) {
      throw new IOException("GET " + request.uri() + " answered " + response.statusCode() + ": " + response.body());
    }
    return JSON.readTree(response.body());
  }

  /** The cluster summary of {@code /overview}. */
  public record Overview(int taskManagers, int slotsTotal, int slotsAvailable, int jobsRunning, int jobsFinished,
      int jobsCancelled, int jobsFailed, String flinkVersion) {}

  /** One job of {@code /jobs/overview}; {@code state} is Flink's (RUNNING, FINISHED, FAILED, ...). */
  public record Job(String id, String name, String state, long startTimeMillis, long durationMillis, int tasks) {}
}
