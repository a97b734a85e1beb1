package io.hybridbridge.fastexec.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.taint.testing.TestDataset;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code hb inspect} on a real snapshot: the reference is found by itself, JSON rows are the guest's. */
@Tag("dataset")
class InspectCommandTest {
  private record Result(int status, String out, String err) {}

  private static Result inspect(String... args) {
    PrintStream out = System.out;
    PrintStream err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream();
    ByteArrayOutputStream e = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
      System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
      int status = new CommandLine(new InspectCommand()).execute(args);
      return new Result(status, o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
  }

  @Test
  void aSnapshotPathGivesItsModulesAsJsonAndAReport() throws Exception {
    ManifestEntry e = TestDataset.snapshots().get(0);
    Result r = inspect(TestDataset.path(e).toString(), "--tool", "lsmod", "--json",
        "--references", TestDataset.directory().toString());
    assertThat(r.status()).as(r.err()).isZero();
    JsonNode run = new ObjectMapper().readTree(r.out());
    assertThat(run.path("tool").asText()).isEqualTo("lsmod");
    assertThat(run.path("snapshot").asText()).isEqualTo(e.getId()); // named after its manifest entry
    List<String> names = new ArrayList<>();
    run.path("rows").forEach(m -> names.add(m.path("name").asText()));
    List<String> expected = new ArrayList<>();
    new ObjectMapper().readTree(TestDataset.truth(e).resolve("truth.json").toFile()).path("truth").path("modules")
        .forEach(m -> expected.add(m.path("name").asText()));
    assertThat(names).isEqualTo(expected).isNotEmpty();
    assertThat(run.path("report").path("redirected_instructions").asLong()).isPositive();
    assertThat(run.path("report").path("metadata_entries").asLong()).isPositive();
  }

  @Test
  void aSnapshotWithoutAReferenceOfItsBuildIsAClearError(@TempDir Path empty) throws Exception {
    ManifestEntry e = TestDataset.snapshots().get(0);
    Result r = inspect(TestDataset.path(e).toString(), "--tool", "ps", "--references", empty.toString());
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains(e.getKernelBuild());
  }

  @Test
  void autoLearnsIntoTheStoreThenTheFastPathAnswersAndAnAuditAgrees(@TempDir Path store) throws Exception {
    ManifestEntry e = TestDataset.snapshots().get(0);
    List<String> common = List.of(e.getId(), "--tool", "lsmod,mount", "--summary", "--store", store.toString(),
        "--references", TestDataset.directory().toString());
    Result nothing = inspect(with(common, "--path", "fast"));
    assertThat(nothing.status()).isEqualTo(1);
    assertThat(nothing.out()).contains("lsmod: no metadata", "mount: no metadata");

    Result learning = inspect(with(common, "--path", "auto"));
    assertThat(learning.status()).as(learning.err()).isZero();
    assertThat(learning.err()).contains("read version 0, wrote version 1 (2 units learnt)");
    assertThat(learning.out()).doesNotContain("(fast)");

    Result fast = inspect(with(common, "--path", "fast", "--audit-rate", "1"));
    assertThat(fast.status()).as(fast.err()).isZero();
    assertThat(fast.out()).contains("lsmod: " + modules(e) + " rows,", "(fast)", "audit: the same rows");
    assertThat(fast.err()).contains("read version 1", "audit: 2 fast inspections re-run on the slow path (rate 1.0), "
        + "0 disagreements");

    Result again = inspect(with(common, "--path", "auto"));
    assertThat(again.err()).contains("read version 1, nothing learnt");
  }

  @Test
  void aBadPathOrAuditRateIsRefused() {
    assertThat(inspect("/nonexistent", "--path", "quick").err()).contains("unknown --path quick");
    assertThat(inspect("/nonexistent", "--path", "fast", "--audit-rate", "2").status()).isEqualTo(2);
    assertThat(inspect("/nonexistent", "--audit-rate", "0.5").err()).contains("--path fast or auto");
  }

  private static String[] with(List<String> common, String... more) {
    List<String> all = new ArrayList<>(common);
    all.addAll(List.of(more));
    return all.toArray(new String[0]);
  }

  private static int modules(ManifestEntry e) throws Exception {
    return new ObjectMapper().readTree(TestDataset.truth(e).resolve("truth.json").toFile()).path("truth")
        .path("modules").size();
  }

  @Test
  void anUnknownToolIsRefusedBeforeAnyWork() {
    Result r = inspect("/nonexistent", "--tool", "top");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("unknown tool 'top'");
  }
}
