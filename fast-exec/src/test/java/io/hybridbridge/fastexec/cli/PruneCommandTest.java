package io.hybridbridge.fastexec.cli;

import static io.hybridbridge.fastexec.Units.entry;
import static io.hybridbridge.schemas.RedirectDecision.LOCAL;
import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.fastexec.Units;
import io.hybridbridge.fastexec.store.MetadataStore;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code hb prune}: what it removes, what it keeps, and what it refuses. */
class PruneCommandTest {
  @Test
  void removesTheOldVersionsAndSaysWhatItKept(@TempDir Path dir) throws Exception {
    MetadataStore store = MetadataStore.open(dir.resolve("store"));
    for (int k = 1; k <= 4; k++) {
      store.commit(List.of(Units.metadata("b1", "ps", "s" + k, entry(0xffffffff81000000L + k, 0, LOCAL))));
    }
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PrintStream out = System.out;
    int recent;
    int old;
    try {
      System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
      recent = new CommandLine(new PruneCommand()).execute("--store", store.directory().toString(), "--keep", "1");
      old = new CommandLine(new PruneCommand()).execute("--store", store.directory().toString(), "--keep", "2",
          "--min-age-hours", "0");
    } finally {
      System.setOut(out);
    }
    assertThat(recent).isZero();
    assertThat(old).isZero();
    assertThat(printed.toString(StandardCharsets.UTF_8)).contains("removed 0 version(s); kept 4 (v1..v4)")
        .contains("removed 2 version(s) v1..v2; kept 2 (v3..v4)")
        .contains(store.directory().resolve("translated") + ": removed 0 file(s) of translated code unused for 30 "
            + "days (0.0 MB); kept 0 (0.0 MB)");
    assertThat(store.versionNumbers()).containsExactly(3L, 4L);
    assertThat(new CommandLine(new PruneCommand()).execute("--store", store.directory().toString(), "--keep", "0"))
        .isEqualTo(2);
    assertThat(new CommandLine(new PruneCommand()).execute("--store", dir.resolve("none").toString())).isEqualTo(2);
    assertThat(new CommandLine(new PruneCommand()).execute("--store", store.directory().toString(),
        "--translated-unused-days", "1")).isEqualTo(2);
  }
}
