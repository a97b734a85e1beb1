package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.hybridbridge.schemas.Manifest;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotFormat;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Builds a small real dataset (the cloud flavour boots fastest: a reference and two snapshots of one boot) in a
 * temporary directory, packages from the shared cache, and checks everything a consumer relies on.
 */
@Tag("dataset")
class SmallDatasetTest {
  private static final String BUILD = "6.1.0-53-cloud-amd64";
  @TempDir static Path out;
  private static Manifest manifest;

  @BeforeAll
  static void build() throws DatasetException {
    BuildOptions options = BuildOptions.defaults(out, HbCache.packages(),
        List.of(new KernelBuildName(BUILD))).withFleet(2);
    new DatasetBuilder(options, new Progress(System.err)).build();
    manifest = Manifests.read(out);
  }

  private static ManifestEntry entry(String id) {
    return manifest.getEntries().stream().filter(e -> e.getId().equals(BUILD + "/" + id)).findFirst()
        .orElseThrow(() -> new AssertionError("no manifest entry " + id));
  }

  @Test
  void manifestListsAReferenceAndTwoSnapshotsOfOneBootAndAnElfTwin() throws Exception {
    assertThat(manifest.getEntries()).extracting(ManifestEntry::getId).containsExactly(
        BUILD + "/boot1/dump1", BUILD + "/boot1/dump2", BUILD + "/boot1/dump2-twin", BUILD + "/reference");
    for (ManifestEntry e : manifest.getEntries()) {
      DatasetChecks.imageMatchesManifest(out, e, true);
      assertThat(e.getKernelBuild()).isEqualTo(BUILD);
    }
    assertThat(entry("boot1/dump1").getBootId()).isEqualTo(entry("boot1/dump2").getBootId())
        .isNotEqualTo(entry("reference").getBootId());
    assertThat(entry("boot1/dump1").getFormat()).isEqualTo(SnapshotFormat.ELF);
    assertThat(entry("boot1/dump2").getFormat()).isEqualTo(SnapshotFormat.KDUMP);
    assertThat(entry("boot1/dump1").getDumpTimeMillis()).isLessThan(entry("boot1/dump2").getDumpTimeMillis());
    // the twin is an ELF core of the same pause as dump2, with dump2's ground truth
    assertThat(entry("boot1/dump2-twin").getFormat()).isEqualTo(SnapshotFormat.ELF);
    assertThat(entry("boot1/dump2-twin").getDumpTimeMillis()).isEqualTo(entry("boot1/dump2").getDumpTimeMillis());
    assertThat(entry("boot1/dump2-twin").getGroundTruthPath()).isEqualTo(entry("boot1/dump2").getGroundTruthPath());
    assertThat(entry("boot1/dump2-twin").getLabels().get("sameMomentAs")).isEqualTo(BUILD + "/boot1/dump2");
    // a 128 MiB guest: the ELF core holds all of RAM, the kdump is compressed
    assertThat(entry("boot1/dump1").getSizeBytes()).isGreaterThan(128L << 20);
    assertThat(entry("boot1/dump2").getSizeBytes()).isLessThan(entry("boot1/dump1").getSizeBytes());
    try (var files = Files.list(out)) {
      assertThat(files.map(p -> p.getFileName().toString())).doesNotContain(".staging");
    }
  }

  @Test
  void referenceIsCaughtInUserModeInsideTheAgent() throws Exception {
    DatasetChecks.referenceIsInUserModeInTheAgent(out, entry("reference"));
  }

  @Test
  void groundTruthHasTheWorkload() throws Exception {
    JsonNode first = DatasetChecks.truth(out, entry("boot1/dump1"));
    assertThat(cmdlines(first)).contains(List.of("sleep", "1001"), List.of("sleep", "1002"),
        List.of("sleep", "1003"), List.of("/bin/sh", "/bin/hb-worker"), List.of("httpd", "-p", "8080", "-h", "/www"));
    JsonNode worker = find(first.path("processes"), p -> p.path("comm").asText().equals("hb-worker"));
    assertThat(find(first.path("processes"), p -> p.path("ppid").asInt() == worker.path("pid").asInt()
        && p.path("comm").asText().equals("sleep")).path("cmdline").toString()).isEqualTo("[\"sleep\",\"2001\"]");
    JsonNode cdrom = find(first.path("modules"), m -> m.path("name").asText().equals("cdrom"));
    assertThat(cdrom.path("usedBy").toString()).isEqualTo("[\"isofs\"]");
    assertThat(names(first.path("modules"))).contains("isofs", "cdrom", "vfat", "fat", "dummy");
    assertListening(first, 8080);
    assertListening(first, 1234);
    JsonNode client = find(first.path("inetSockets"), s -> s.path("remotePort").asInt() == 1234
        && s.path("stateName").asText().equals("ESTABLISHED"));
    find(first.path("inetSockets"), s -> s.path("localPort").asInt() == 1234
        && s.path("remotePort").asInt() == client.path("localPort").asInt());
    find(first.path("inetSockets"), s -> s.path("proto").asText().equals("udp") && s.path("localPort").asInt() == 67);
    JsonNode syslogd = find(first.path("processes"), p -> p.path("comm").asText().equals("syslogd"));
    List<Long> syslogSockets = new ArrayList<>();
    syslogd.path("socketInodes").forEach(n -> syslogSockets.add(n.asLong()));
    find(first.path("inetSockets"), s -> s.path("proto").asText().equals("udp")
        && syslogSockets.contains(s.path("inode").asLong()));
    find(first.path("unixSockets"), s -> s.path("path").asText().equals("/dev/log"));
    find(first.path("mounts"), m -> m.path("mountPoint").asText().equals("/mnt/scratch")
        && m.path("fsType").asText().equals("tmpfs"));
    assertThat(first.path("uname").path("release").asText()).isEqualTo(BUILD);
    DatasetChecks.layoutMatchesTheDump(out, entry("boot1/dump1"));
  }

  @Test
  void workloadChangesBetweenDumpsOfOneBoot() throws Exception {
    JsonNode second = DatasetChecks.truth(out, entry("boot1/dump2"));
    assertThat(cmdlines(second)).contains(List.of("sleep", "5002")).doesNotContain(List.of("sleep", "1002"));
    assertThat(names(second.path("modules"))).contains("nls_cp437");
    assertThat(names(DatasetChecks.truth(out, entry("boot1/dump1")).path("modules"))).doesNotContain("nls_cp437");
    assertListening(second, 1242);
    JsonNode transients = DatasetChecks.JSON.readTree(
        out.resolve(entry("boot1/dump2").getGroundTruthPath()).resolve("transient.json").toFile());
    assertThat(transients.path("processes").get(0).path("pid").asInt())
        .isEqualTo(second.path("capturePid").asInt());
  }

  @Test
  void secondRunReusesEverything() throws Exception {
    Path image = out.resolve(entry("boot1/dump1").getPath());
    FileTime before = Files.getLastModifiedTime(image);
    ByteArrayOutputStream log = new ByteArrayOutputStream();
    long start = System.nanoTime();
    new DatasetBuilder(BuildOptions.defaults(out, HbCache.packages(), List.of(new KernelBuildName(BUILD)))
        .withFleet(2), new Progress(new PrintStream(log))).build();
    assertThat((System.nanoTime() - start) / 1e9).isLessThan(10);
    assertThat(log.toString()).contains("up to date").doesNotContain("booting");
    assertThat(Files.getLastModifiedTime(image)).isEqualTo(before);
    assertThat(Manifests.read(out)).isEqualTo(manifest);
  }

  private static void assertListening(JsonNode truth, int port) {
    find(truth.path("inetSockets"), s -> s.path("localPort").asInt() == port
        && s.path("stateName").asText().equals("LISTEN"));
  }

  private static List<List<String>> cmdlines(JsonNode truth) {
    List<List<String>> all = new ArrayList<>();
    for (JsonNode p : truth.path("processes")) {
      List<String> args = new ArrayList<>();
      p.path("cmdline").forEach(a -> args.add(a.asText()));
      all.add(args);
    }
    return all;
  }

  private static List<String> names(JsonNode modules) {
    return StreamSupport.stream(modules.spliterator(), false).map(m -> m.path("name").asText()).toList();
  }

  private static JsonNode find(JsonNode array, Predicate<JsonNode> test) {
    for (JsonNode n : array) {
      if (test.test(n)) {
        return n;
      }
    }
    throw new AssertionError("nothing matches in " + array.toString().substring(0,
        Math.min(2000, array.toString().length())));
  }

}
