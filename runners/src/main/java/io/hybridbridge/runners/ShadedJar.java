package io.hybridbridge.runners;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The self-contained jar of Hybrid-Bridge (every module and its dependencies, main class {@code Hb}) that a remote
 * Flink cluster receives as the job's code. It is built on demand, because shading takes ≈20 s and ≈230 MB that
 * the everyday {@code ./hb} build should not pay: by {@code mvn verify} (the shade runs in the
 * {@code pre-integration-test} phase of {@code runners}) or by {@link #ensureBuilt} when it is missing or older
 * than the sources.
 */
public final class ShadedJar {
  /** Where the runners module's build writes it (see {@code runners/pom.xml}). */
  public static final String RELATIVE_PATH = "runners/target/hybrid-bridge-shaded.jar";

  private ShadedJar() {}

  /** The shaded jar this code runs from, if it runs from one (for example {@code java -jar ... scan ...}). */
  public static Optional<Path> running() {
    try {
      Path code = Path.of(ShadedJar.class.getProtectionDomain().getCodeSource().getLocation().toURI());
      return Files.isRegularFile(code) && code.getFileName().toString().equals(fileName())
          ? Optional.of(code) : Optional.empty();
    } catch (URISyntaxException | SecurityException | NullPointerException e) {
      return Optional.empty();
    }
  }

  /** The up-to-date shaded jar of the source tree, if it exists and is not older than the sources. */
  public static Optional<Path> existing() throws SetupException {
    Optional<Path> running = running();
    if (running.isPresent()) {
      return running;
    }
    SourceTree tree = SourceTree.require("Finding the shaded jar");
    Path jar = tree.root().resolve(RELATIVE_PATH);
    try {
      return tree.isStale(jar) ? Optional.empty() : Optional.of(jar);
    } catch (IOException e) {
      throw new SetupException("cannot compare " + jar + " with the sources: " + e.getMessage(), e);
    }
  }

  /** The up-to-date shaded jar, building it first ({@code progress} hears about it) when needed. */
  public static Path ensureBuilt(Consumer<String> progress) throws SetupException {
    Optional<Path> existing = existing();
    if (existing.isPresent()) {
      return existing.get();
    }
    SourceTree tree = SourceTree.require("Building the shaded jar");
    Path jar = tree.root().resolve(RELATIVE_PATH);
    progress.accept("building the shaded jar " + jar + " (about half a minute)...");
    long start = System.nanoTime();
    tree.maven(tree.root().resolve("runners/target/shaded-jar-build.log"),
        "-DskipTests", "-pl", "runners", "-am", "pre-integration-test");
    if (!Files.isRegularFile(jar)) {
      throw new SetupException("the build finished but did not write " + jar);
    }
    progress.accept(String.format("built %s (%d MB) in %.1f s", jar, size(jar) >> 20,
        (System.nanoTime() - start) / 1e9));
    return jar;
  }

  private static String fileName() {
    return Path.of(RELATIVE_PATH).getFileName().toString();
  }

  private static long size(Path jar) {
    try {
      return Files.size(jar);
    } catch (IOException e) {
      return 0;
    }
  }
}
