package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Failures a user meets, with real packages and a real QEMU: clear messages, nothing half-written. */
@Tag("dataset")
class FailedBuildTest {
  private static final Progress QUIET = new Progress(new PrintStream(new ByteArrayOutputStream()));

  @Test
  void unknownKernelBuildSaysHowToListValidNames(@TempDir Path out) {
    BuildOptions options = BuildOptions.defaults(out, HbCache.packages(),
        List.of(new KernelBuildName("6.1.0-999-amd64")));
    assertThatThrownBy(() -> new DatasetBuilder(options, QUIET).build()).isInstanceOf(DatasetException.class)
        .hasMessageContaining("unknown kernel build '6.1.0-999-amd64'")
        .hasMessageContaining("./hb datasets kernels");
  }

  @Test
  void guestNotReadyInTimeLeavesNothingBehind(@TempDir Path out) throws Exception {
    BuildOptions defaults = BuildOptions.defaults(out, HbCache.packages(),
        List.of(new KernelBuildName("6.1.0-53-cloud-amd64")));
    BuildOptions impatient = new BuildOptions(out, defaults.packagesDir(), defaults.kernels(), 2, 2,
        SnapshotFormats.ALTERNATING, defaults.memoryMiB(), defaults.cpu(), defaults.guestCpus(),
        Duration.ofMillis(300), defaults.bootModules(), defaults.stepModules(), false,
        defaults.busybox(), 0, false);
    DatasetException failure = catchThrowableOfType(() -> new DatasetBuilder(impatient, QUIET).build(),
        DatasetException.class);
    assertThat(failure).hasMessageContaining("ready marker").hasMessageContaining("Last console lines");
    try (var files = Files.list(out)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly(".lock");
    }
    // the one thing kept, outside the output, for the user: the console logs, in the directory the message names
    Matcher kept = Pattern.compile("console logs of the failed build kept in (\\S+)\\)").matcher(failure.getMessage());
    assertThat(kept.find()).as("the message names where the console logs are").isTrue();
    Path logs = Path.of(kept.group(1));
    try (var walk = Files.walk(logs)) {
      List<Path> all = walk.sorted(Comparator.reverseOrder()).toList();
      assertThat(all).anyMatch(p -> p.getFileName().toString().equals("console.log"));
      for (Path p : all) {
        Files.delete(p); // a test leaves nothing behind either
      }
    }
  }
}
