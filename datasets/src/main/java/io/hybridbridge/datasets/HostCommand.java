package io.hybridbridge.datasets;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** Runs a host program to completion (apt-get, dpkg-deb, modinfo) and keeps its combined output. */
final class HostCommand {
  record Result(int exitCode, String output) {
    boolean ok() {
      return exitCode == 0;
    }

    /** The last lines of the output, for error messages. */
    String tail(int lines) {
      String[] all = output.strip().split("\n");
      int from = Math.max(0, all.length - lines);
      return String.join("\n", java.util.Arrays.copyOfRange(all, from, all.length));
    }
  }

  private HostCommand() {}

  static Result run(List<String> command, Path workingDirectory, Duration timeout) throws DatasetException {
    ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
    if (workingDirectory != null) {
      builder.directory(workingDirectory.toFile());
    }
    builder.environment().put("LC_ALL", "C");
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new DatasetException("cannot run " + command.get(0) + ": " + e.getMessage()
          + " (install the system packages with: scripts/system-packages --ensure)", e);
    }
    try {
      process.getOutputStream().close();
      CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> readAll(process.getInputStream()));
      if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
        throw new DatasetException(String.join(" ", command) + " did not finish within " + timeout.toSeconds()
            + " s");
      }
      return new Result(process.exitValue(), output.join());
    } catch (IOException e) {
      throw new DatasetException("running " + command.get(0) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new DatasetException("interrupted while running " + command.get(0), e);
    }
  }

  private static String readAll(InputStream in) {
    try (in) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(output unreadable: " + e.getMessage() + ")";
    }
  }

  /** True when {@code program} is an executable file on the PATH. */
  static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(":")) {
      if (!dir.isEmpty() && java.nio.file.Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }
}
