package io.hybridbridge.runners.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.datasets.HbCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FleetListsTest {
  @Test
  void sizesAreNOrNxK() {
    assertThat(FleetLists.ListSize.parse("50")).isEqualTo(new FleetLists.ListSize(50, 1));
    assertThat(FleetLists.ListSize.parse("200x10").entries()).isEqualTo(2000);
    assertThat(FleetLists.ListSize.parse("200x10")).hasToString("200x10");
    for (String bad : new String[] {"", "x", "0", "5x0", "5x2x2", "ten"}) {
      assertThatThrownBy(() -> FleetLists.ListSize.parse(bad)).isInstanceOf(IllegalArgumentException.class);
    }
  }

  /** On the default dataset (12 distinct snapshots + 3 twins): builds in turn, twins left out, clones renamed. */
  @Test
  @Tag("dataset")
  void listsTakeBuildsInTurnAndNameClonesApart(@TempDir Path dir) throws Exception {
    Path dataset = Path.of(System.getProperty("hb.dataset", System.getenv().getOrDefault("HB_DATASET",
        HbCache.defaultDataset().toString())));
    FleetLists lists = FleetLists.of(dataset);
    assertThat(lists.distinct()).isEqualTo(12);
    JsonNode three = new ObjectMapper().readTree(lists.write(FleetLists.ListSize.parse("3"), dir.resolve("a.json"))
        .toFile());
    Set<String> builds = new HashSet<>();
    three.forEach(t -> builds.add(t.path("id").asText().substring(0, t.path("id").asText().indexOf('/'))));
    assertThat(builds).hasSize(3);

    JsonNode clones = new ObjectMapper().readTree(lists.write(FleetLists.ListSize.parse("12x3"),
        dir.resolve("b.json")).toFile());
    assertThat(clones).hasSize(36);
    List<String> ids = new ArrayList<>();
    Set<String> vms = new HashSet<>();
    Set<String> paths = new HashSet<>();
    for (JsonNode t : clones) {
      ids.add(t.path("id").asText());
      vms.add(t.path("vmId").asText());
      paths.add(t.path("path").asText());
      assertThat(Path.of(t.path("path").asText())).isAbsolute().isRegularFile();
      assertThat(t.path("id").asText()).doesNotContain("twin").contains("@clone");
    }
    assertThat(ids).doesNotHaveDuplicates();
    assertThat(paths).hasSize(12);
    Set<String> machines = new HashSet<>(vms.stream().map(v -> v.replaceAll("-clone\\d+$", "")).toList());
    assertThat(vms).hasSize(3 * machines.size()); // every machine under three names
    assertThatThrownBy(() -> lists.write(FleetLists.ListSize.parse("13"), dir.resolve("c.json")))
        .isInstanceOf(BenchException.class).hasMessageContaining("12 distinct");
    assertThat(Files.exists(dir.resolve("c.json"))).isFalse();
  }
}
