package io.hybridbridge.emulator.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The default dataset as tests see it (manifest entries and their ground truth). Missing dataset: the test fails,
 * it is never skipped.
 */
public final class DefaultDataset {
  /** One manifest entry. */
  public record Entry(String id, String role, String format, Path path, String kernelBuild, String bootId,
      long dumpTimeMillis, Optional<Path> groundTruth) {
    /** The ground truth of this entry (truth.json; its "truth" member when the file wraps it with host facts). */
    public JsonNode truth() throws IOException {
      Path dir = groundTruth.orElseThrow(() -> new AssertionError(id + " has no ground truth"));
      JsonNode root = new ObjectMapper().readTree(dir.resolve("truth.json").toFile());
      return root.has("truth") ? root.get("truth") : root;
    }
  }

  private DefaultDataset() {}

  /** A manifest field as text; Avro's JSON encoding wraps union values as {"string": …}. */
  static String text(JsonNode entry, String field) {
    JsonNode v = entry.get(field);
    if (v != null && v.isObject() && v.size() == 1) {
      v = v.elements().next();
    }
    return v == null || v.isNull() ? null : v.asText();
  }

  public static Path directory() {
    Path dir = ReferenceStore.defaultDatasetDirectory();
    assertThat(dir.resolve("manifest.json")).as("the default dataset (build it with ./hb datasets build)")
        .isRegularFile();
    return dir;
  }

  public static List<Entry> entries() throws IOException {
    Path dir = directory();
    JsonNode root = new ObjectMapper().readTree(dir.resolve("manifest.json").toFile());
    List<Entry> entries = new ArrayList<>();
    for (JsonNode e : root.path("entries")) {
      entries.add(new Entry(text(e, "id"), text(e, "role"),
          text(e, "format"), dir.resolve(text(e, "path")),
          text(e, "kernelBuild"), text(e, "bootId"), e.path("dumpTimeMillis").asLong(),
          Optional.ofNullable(text(e, "groundTruthPath")).map(dir::resolve)));
    }
    assertThat(entries).as("entries of " + dir.resolve("manifest.json")).isNotEmpty();
    for (Entry e : entries) {
      assertThat(Files.isRegularFile(e.path())).as(e.path().toString()).isTrue();
    }
    return entries;
  }
}
