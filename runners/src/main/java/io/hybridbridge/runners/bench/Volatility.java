package io.hybridbridge.runners.bench;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Volatility 3 on the same snapshots, when it can run here: {@code vol} on PATH and Linux symbol tables (ISF) for
 * the snapshot's kernel build in its symbol path. It times {@code linux.pslist}, {@code linux.lsmod} and
 * {@code linux.sockstat} per snapshot; a plugin that fails (typically: no symbols for the build) ends the
 * comparison with that reason instead of a figure.
 */
final class Volatility {
  static final List<String> PLUGINS = List.of("linux.pslist", "linux.lsmod", "linux.sockstat");
  private static final long TIMEOUT_MINUTES = 10;

  /** Median seconds per snapshot for all three plugins, or why there is no figure. */
  record Outcome(Optional<Double> medianSecondsPerSnapshot, int snapshots, String note) {}

  private Volatility() {}

  static Optional<Path> onPath() {
    String path = System.getenv("PATH");
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      Path vol = Path.of(dir, "vol");
      if (Files.isExecutable(vol)) {
        return Optional.of(vol);
      }
    }
    return Optional.empty();
  }

  static Outcome time(List<Path> snapshots, Path logDir) {
    Optional<Path> vol = onPath();
    if (vol.isEmpty()) {
      return new Outcome(Optional.empty(), 0, "skipped: `vol` (Volatility 3) is not on PATH. It is not a Debian "
          + "bookworm package (only PyPI has it), and Linux symbols for these kernels would need their "
          + "linux-image-<build>-dbg packages (DWARF) converted to ISF with dwarf2json");
    }
    List<Double> seconds = new ArrayList<>();
    for (Path snapshot : snapshots) {
      long start = System.nanoTime();
      for (String plugin : PLUGINS) {
        Optional<String> failure = run(vol.get(), snapshot, plugin, logDir);
        if (failure.isPresent()) {
          return new Outcome(Optional.empty(), seconds.size(), "skipped: " + vol.get() + " " + plugin + " failed on "
              + snapshot + " (no symbols for its build?): " + failure.get());
        }
      }
      seconds.add((System.nanoTime() - start) / 1e9);
    }
    Collections.sort(seconds);
    return new Outcome(seconds.isEmpty() ? Optional.empty() : Optional.of(seconds.get(seconds.size() / 2)),
        seconds.size(), vol.get().toString());
  }

  /** Runs one plugin; empty when it succeeded, else the end of what it printed. */
  private static Optional<String> run(Path vol, Path snapshot, String plugin, Path logDir) {
    try {
      Files.createDirectories(logDir);
      Path log = logDir.resolve("vol-" + plugin + ".log");
      Process p = new ProcessBuilder(vol.toString(), "-q", "-f", snapshot.toString(), plugin)
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
      if (!p.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        p.destroyForcibly();
        return Optional.of("no answer in " + TIMEOUT_MINUTES + " minutes");
      }
      if (p.exitValue() != 0) {
        List<String> lines = Files.readAllLines(log);
        return Optional.of("exit " + p.exitValue() + ": " + (lines.isEmpty() ? "" : lines.get(lines.size() - 1)));
      }
      return Optional.empty();
    } catch (IOException e) {
      return Optional.of(e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.of("interrupted");
    }
  }
}
