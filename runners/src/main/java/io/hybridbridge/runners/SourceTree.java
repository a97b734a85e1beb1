package io.hybridbridge.runners;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * The Hybrid-Bridge source tree this code was built from, and the Maven builds that run on demand inside it
 * (the shaded jar, the Flink distribution's class path): the things {@code ./hb} does not build every time.
 */
public final class SourceTree {
  private static final long BUILD_TIMEOUT_MINUTES = 20;
  private final Path root;

  private SourceTree(Path root) {
    this.root = root;
  }

  /** The source tree holding the running code, found upwards from its class directory or jar. */
  public static Optional<SourceTree> ofRunningCode() {
    Path code;
    try {
      code = Path.of(SourceTree.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (URISyntaxException | SecurityException | NullPointerException e) {
      return Optional.empty();
    }
    for (Path dir = code.toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isRegularFile(dir.resolve("pom.xml")) && Files.isRegularFile(dir.resolve("runners/pom.xml"))) {
        return Optional.of(new SourceTree(dir));
      }
    }
    return Optional.empty();
  }

  /** The source tree of the running code, or a clear error for code running outside one (a copied jar). */
  public static SourceTree require(String purpose) throws SetupException {
    return ofRunningCode().orElseThrow(() -> new SetupException(
        purpose + " needs the Hybrid-Bridge source tree (Maven builds it there), but this code runs from "
            + SourceTree.class.getProtectionDomain().getCodeSource().getLocation()));
  }

  public Path root() {
    return root;
  }

  /**
   * True when {@code product} is missing or older than a source file or a pom of the tree (the rule {@code ./hb}
   * uses for its own build).
   */
  public boolean isStale(Path product) throws IOException {
    if (!Files.isRegularFile(product)) {
      return true;
    }
    FileTime built = Files.getLastModifiedTime(product);
    FileTime[] newest = {FileTime.fromMillis(0)};
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
        String name = dir.getFileName() == null ? "" : dir.getFileName().toString();
        return name.equals("target") || (name.startsWith(".") && !dir.equals(root))
            ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
      }

      @Override
      public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
        boolean source = file.getFileName().toString().equals("pom.xml")
            || root.relativize(file).toString().contains("/src/");
        if (source && attrs.lastModifiedTime().compareTo(newest[0]) > 0) {
          newest[0] = attrs.lastModifiedTime();
        }
        return FileVisitResult.CONTINUE;
      }
    });
    return newest[0].compareTo(built) > 0;
  }

  /**
   * Runs Maven in the tree ({@code mvn -B -q args...}); its output goes to {@code log} and, on failure, into the
   * exception's message.
   */
  public void maven(Path log, String... args) throws SetupException {
    List<String> command = new ArrayList<>(List.of("mvn", "-B", "-q", "-Dstyle.color=never"));
    command.addAll(List.of(args));
    try {
      Files.createDirectories(log.getParent());
      Process mvn = new ProcessBuilder(command).directory(root.toFile())
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
      mvn.getOutputStream().close();
      if (!mvn.waitFor(BUILD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        mvn.destroyForcibly();
        throw new SetupException(String.join(" ", command) + " did not finish in " + BUILD_TIMEOUT_MINUTES
            + " minutes; its output: " + log);
      }
      if (mvn.exitValue() != 0) {
        throw new SetupException(String.join(" ", command) + " failed (exit " + mvn.exitValue() + "):\n"
            + LogTail.of(log, 40));
      }
    } catch (IOException e) {
      throw new SetupException("cannot run " + String.join(" ", command) + " in " + root + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new SetupException("interrupted while running " + String.join(" ", command), e);
    }
  }
}
