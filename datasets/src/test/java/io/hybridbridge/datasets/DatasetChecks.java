package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotFormat;
import io.hybridbridge.schemas.SnapshotRole;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Assertions shared by the dataset tests: an entry's files are there and are what the manifest says. */
final class DatasetChecks {
  static final ObjectMapper JSON = new ObjectMapper();

  private DatasetChecks() {}

  static void imageMatchesManifest(Path dataset, ManifestEntry e, boolean checkSha) throws Exception {
    Path image = dataset.resolve(e.getPath());
    assertThat(image).isRegularFile();
    assertThat(Files.size(image)).isEqualTo(e.getSizeBytes());
    assertThat(SnapshotFiles.detectFormat(image)).isEqualTo(e.getFormat());
    if (checkSha) {
      assertThat(SnapshotFiles.sha256(image)).as("sha256 of %s", image).isEqualTo(e.getSha256());
    }
    Path truth = dataset.resolve(e.getGroundTruthPath());
    for (String file : List.of("raw.txt", "items.json", "truth.json", "transient.json")) {
      assertThat(truth.resolve(file)).isRegularFile();
    }
    assertThat(truth(dataset, e).path("bootId").asText()).isEqualTo(e.getBootId());
  }

  static JsonNode truth(Path dataset, ManifestEntry e) throws IOException {
    return JSON.readTree(dataset.resolve(e.getGroundTruthPath()).resolve("truth.json").toFile()).path("truth");
  }

  /** The reference: ELF, CPU in user mode inside the agent, per the recorded registers and the dump's note. */
  static void referenceIsInUserModeInTheAgent(Path dataset, ManifestEntry reference) throws Exception {
    assertThat(reference.getRole()).isEqualTo(SnapshotRole.REFERENCE);
    assertThat(reference.getFormat()).isEqualTo(SnapshotFormat.ELF);
    JsonNode agent = JSON.readTree(dataset.resolve(reference.getLabels().get("agentPath")).toFile());
    long start = Long.decode(agent.path("executableStart").asText());
    long end = Long.decode(agent.path("executableEnd").asText());
    long rip = Long.decode(agent.path("registers").path("rip").asText());
    int cs = Integer.decode(agent.path("registers").path("cs").asText());
    assertThat(cs & 3).as("CS RPL").isEqualTo(3);
    assertThat(rip).isBetween(start, end - 1);
    assertThat(agent.path("pid").asInt()).isEqualTo(Integer.parseInt(reference.getLabels().get("agentPid")));
    List<SnapshotFiles.NotedCpu> noted = SnapshotFiles.qemuNotes(dataset.resolve(reference.getPath()));
    assertThat(noted).hasSize(1);
    assertThat(noted.get(0).userMode()).isTrue();
    assertThat(noted.get(0).rip()).isEqualTo(rip);
    Path kallsyms = dataset.resolve(reference.getKallsymsPath());
    assertThat(Files.size(kallsyms)).isGreaterThan(1_000_000);
    // real addresses (kptr_restrict=0), not zeros
    assertThat(Files.readString(kallsyms)).containsPattern("(?m)^ffffffff[0-9a-f]{8} T _stext$");
  }
}
