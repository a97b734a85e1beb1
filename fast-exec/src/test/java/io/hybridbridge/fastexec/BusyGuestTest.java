package io.hybridbridge.fastexec;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.datasets.Manifests;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotRole;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Busy guests ({@code hb datasets build --extra-processes 300 --busy-sockets}): a few hundred processes, as many VMs
 * run, and sockets the default workload has not (TIME_WAIT, a connection waiting with unread bytes in the
 * accept queue of a stopped listener, a raw socket), which netstat prints through other kernel code (the timewait
 * and raw socket printers). Until the references' agent took the highest pid there is, ps refused every such
 * snapshot: the agent's pid (≈ 300-380 in a reference boot) was one of the guest's, and an inspection cannot list
 * that process (taint's TrustedPreparation).
 */
@Tag("dataset")
class BusyGuestTest {
  private static final String BUILD = "6.12.95+deb12-amd64";
  private static final int EXTRA = 300;
  @TempDir static Path out;
  private static List<ManifestEntry> snapshots;

  @BeforeAll
  static void build() throws Exception {
    snapshots = GuestInspections.build(out, BUILD, options -> options.withExtraProcesses(EXTRA).withBusySockets());
  }

  @Test
  void theReferencesAgentHasTheHighestPidAndTheGuestsHundredsOfProcessesAndBusySockets() throws Exception {
    ManifestEntry reference = Manifests.read(out).getEntries().stream()
        .filter(e -> e.getRole() == SnapshotRole.REFERENCE).findFirst().orElseThrow();
    assertThat(reference.getLabels().get("agentPid")).isEqualTo("4194303");
    for (ManifestEntry e : snapshots) {
      JsonNode truth = new ObjectMapper().readTree(out.resolve(e.getGroundTruthPath()).resolve("truth.json").toFile())
          .path("truth");
      assertThat(truth.path("processes").size()).as(e.getId()).isGreaterThan(EXTRA + 50);
      List<JsonNode> sockets = new ArrayList<>();
      truth.path("inetSockets").forEach(sockets::add);
      // which end keeps the TIME_WAIT (tcp: the client, tcp6: the server) is which closed first, a race
      assertThat(sockets).as(e.getId() + ": TIME_WAIT sockets of the short connections")
          .filteredOn(s -> s.path("stateName").asText().equals("TIME_WAIT")).hasSizeGreaterThanOrEqualTo(12);
      assertThat(sockets).as(e.getId() + ": ping's raw socket").anyMatch(s -> s.path("proto").asText().equals("raw"));
      assertThat(sockets).as(e.getId() + ": the connection no process accepted yet (no inode)")
          .anyMatch(s -> s.path("localPort").asInt() == 4321 && s.path("stateName").asText().equals("ESTABLISHED")
              && s.path("inode").asLong() == 0);
      List<JsonNode> processes = new ArrayList<>();
      truth.path("processes").forEach(processes::add);
      assertThat(processes).as(e.getId() + ": the stopped listener")
          .anyMatch(p -> p.path("state").asText().equals("T") && p.path("comm").asText().equals("nc"));
    }
  }

  @Test
  void theToolsGiveTheGuestsGroundTruthAndTheFastPathTheSlowPathsRows() throws Exception {
    GuestInspections.run(out, snapshots).assertAllRight("guests with " + EXTRA + " more processes and busy sockets");
  }
}
