package io.hybridbridge.runners.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One real {@code hb scan}, run as its own JVM with the bench's class path exactly as a user runs it (so a
 * Direct scan's memory is that process's alone, and nothing of an earlier case stays warm in it), its output
 * kept in {@code <log>.out} and {@code <log>.err}.
 */
final class ScanRun {
  private static final Pattern TRAINED = Pattern.compile("trained (\\d+)");
  private static final Pattern SCAN_SECONDS = Pattern.compile("scan (\\w+) in ([0-9.]+) s");

  /** What the scan command printed and how long it took. */
  record Result(int exitCode, double wallSeconds, double scanSeconds, String state, long trained, Path stdout) {}

  /** How to start a scan: the JVM options of the child and the runner arguments. */
  record Launch(List<String> jvmOptions, List<String> runnerArguments) {}

  private ScanRun() {}

  static Result run(Launch launch, Path list, Path out, Path references, Path store, LocalDate night, Path log,
      AtomicReference<ProcessHandle> running) throws BenchException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(launch.jvmOptions());
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.hybridbridge.cli.Hb", "scan",
        "--manifest", list.toString(), "--out", out.toString(), "--references", references.toString(),
        "--metadata", store.toString(), "--scan-date", night.toString()));
    command.addAll(launch.runnerArguments());
    Path stdout = log.resolveSibling(log.getFileName() + ".out");
    Path stderr = log.resolveSibling(log.getFileName() + ".err");
    long start = System.nanoTime();
    int exit;
    try {
      Files.createDirectories(log.getParent());
      Process process = new ProcessBuilder(command).redirectOutput(stdout.toFile()).redirectError(stderr.toFile())
          .start();
      running.set(process.toHandle());
      exit = process.waitFor();
    } catch (IOException e) {
      throw new BenchException("cannot start " + String.join(" ", command.subList(0, 2)) + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BenchException("interrupted while a scan ran", e);
    } finally {
      running.set(null);
    }
    double wall = (System.nanoTime() - start) / 1e9;
    String printed;
    try {
      printed = Files.readString(stdout);
    } catch (IOException e) {
      throw new BenchException("cannot read the scan's output " + stdout + ": " + e.getMessage(), e);
    }
    Matcher summary = SCAN_SECONDS.matcher(printed);
    if (exit != 0 || !summary.find()) {
      throw new BenchException("the scan exited with " + exit + " without a summary; see " + stdout + " and "
          + stderr + (tail(stderr).map(t -> ":\n" + t).orElse("")));
    }
    Matcher trained = TRAINED.matcher(printed);
    return new Result(exit, wall, Double.parseDouble(summary.group(2)), summary.group(1),
        trained.find() ? Long.parseLong(trained.group(1)) : 0, stdout);
  }

  private static Optional<String> tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file);
      return Optional.of(String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size())));
    } catch (IOException e) {
      return Optional.empty();
    }
  }
}
