package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
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
        defaults.busybox());
    assertThatThrownBy(() -> new DatasetBuilder(impatient, QUIET).build()).isInstanceOf(DatasetException.class)
        .hasMessageContaining("ready marker").hasMessageContaining("Last console lines");
    try (var files = Files.list(out)) {
      assertThat(files.map(p -> p.getFileName().toString())).containsExactly(".lock");
    }
  }
}
