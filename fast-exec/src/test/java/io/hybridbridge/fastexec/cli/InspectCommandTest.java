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
  void anUnknownToolIsRefusedBeforeAnyWork() {
    Result r = inspect("/nonexistent", "--tool", "top");
    assertThat(r.status()).isEqualTo(2);
    assertThat(r.err()).contains("unknown tool 'top'");
  }
}
