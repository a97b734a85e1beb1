package io.hybridbridge.emulator.machine;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.CapturedKernel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * What the dataset recorded about one reference's guest: its ground truth (the text its kernel printed before the
 * dump, through {@link CapturedKernel}), the host times of the capture and the dump, and the agent the dump
 * caught (agent.json). The agent started after the capture: it is in the dump, not in the ground truth.
 */
record ReferenceGuest(ReferenceStore.Reference reference, CapturedKernel captured, JsonNode truth,
    long captureStartMillis, long captureEndMillis, long dumpStartMillis, long dumpEndMillis, int agentPid,
    String agentExecutable) {

  /** The references of the default dataset (the test fails without one: it is never skipped). */
  static List<ReferenceStore.Reference> references() throws IOException {
    ReferenceStore store = ReferenceStore.open(ReferenceStore.defaultDatasetDirectory());
    assertThat(store.references()).as("references of the default dataset %s (./hb datasets build)",
        ReferenceStore.defaultDatasetDirectory()).isNotEmpty();
    return store.references();
  }

  static ReferenceGuest of(ReferenceStore.Reference reference) throws IOException {
    Path truthDir = reference.groundTruth().orElseThrow(() -> new AssertionError(reference.id() + ": no truth"));
    ObjectMapper json = new ObjectMapper();
    JsonNode truthFile = json.readTree(truthDir.resolve("truth.json").toFile());
    JsonNode hostTimes = truthFile.path("hostTimes");
    JsonNode agent = json.readTree(reference.snapshot().resolveSibling("agent.json").toFile());
    assertThat(agent.path("pid").asInt()).as(reference.id() + " agent pid").isPositive();
    return new ReferenceGuest(reference, CapturedKernel.open(truthDir), truthFile.path("truth"),
        hostTimes.path("captureStartMillis").asLong(), hostTimes.path("captureEndMillis").asLong(),
        hostTimes.path("dumpStartMillis").asLong(), hostTimes.path("dumpEndMillis").asLong(),
        agent.path("pid").asInt(), agent.path("executable").asText());
  }

  /** The uptime the guest printed at the capture (seconds, truncated to centiseconds by the kernel). */
  double capturedUptime() {
    return truth.path("uptime").path("seconds").asDouble();
  }
}
