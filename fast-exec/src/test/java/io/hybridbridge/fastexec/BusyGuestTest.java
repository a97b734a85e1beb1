package io.hybridbridge.fastexec;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.datasets.Manifests;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotRole;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guests running a few hundred processes ({@code hb datasets build --extra-processes 300}), as many VMs do. Until the
 * references' agent took the highest pid there is, ps refused every such snapshot: the agent's pid (≈ 300-380 in a
 * reference boot) was one of the guest's, and an inspection cannot list that process (taint's TrustedPreparation).
 */
@Tag("dataset")
class BusyGuestTest {
  private static final String BUILD = "6.12.95+deb12-amd64";
  private static final int EXTRA = 300;
  @TempDir static Path out;
  private static List<ManifestEntry> snapshots;

  @BeforeAll
  static void build() throws Exception {
    snapshots = GuestInspections.build(out, BUILD, options -> options.withExtraProcesses(EXTRA));
  }

  @Test
  void theReferencesAgentHasTheHighestPidAndTheGuestsHundredsOfProcesses() throws Exception {
    ManifestEntry reference = Manifests.read(out).getEntries().stream()
        .filter(e -> e.getRole() == SnapshotRole.REFERENCE).findFirst().orElseThrow();
    assertThat(reference.getLabels().get("agentPid")).isEqualTo("4194303");
    for (ManifestEntry e : snapshots) {
      int processes = new ObjectMapper().readTree(out.resolve(e.getGroundTruthPath()).resolve("truth.json").toFile())
          .path("truth").path("processes").size();
      assertThat(processes).as(e.getId()).isGreaterThan(EXTRA + 50);
    }
  }

  @Test
  void theToolsGiveTheGuestsGroundTruthAndTheFastPathTheSlowPathsRows() throws Exception {
    GuestInspections.run(out, snapshots).assertAllRight("guests with " + EXTRA + " more processes");
  }
}
