package io.hybridbridge.runners.flink;

import io.hybridbridge.runners.SetupException;
import io.hybridbridge.runners.SourceTree;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * The jars a Flink 1.19 distribution has in {@code lib/}, resolved by Maven from {@code runners/flink-dist/pom.xml}
 * (no Flink tarball can be downloaded here). The listing is kept in that project's {@code target/} and made again
 * when the pom changes or a jar disappears from the local repository.
 */
final class FlinkDistribution {
  private static final String POM = "runners/flink-dist/pom.xml";
  private static final String LISTING = "runners/flink-dist/target/classpath.txt";

  private FlinkDistribution() {}

  /** The class path of the cluster's JobManager and TaskManagers. */
  static String classPath(Consumer<String> progress) throws FlinkClusterException {
    try {
      SourceTree tree = SourceTree.require("Starting a Flink cluster");
      Path pom = tree.root().resolve(POM);
      Path listing = tree.root().resolve(LISTING);
      if (!isUsable(listing, pom)) {
        progress.accept("resolving the Flink 1.19 distribution jars with Maven...");
        Files.createDirectories(listing.getParent());
        tree.maven(listing.resolveSibling("classpath-build.log"), "-f", pom.toString(),
            "dependency:build-classpath", "-Dmdep.outputFile=" + listing, "-DincludeScope=runtime");
        if (!isUsable(listing, pom)) {
          throw new FlinkClusterException("Maven resolved " + pom + " but " + listing + " lists missing jars");
        }
      }
      return Files.readString(listing).strip();
    } catch (SetupException e) {
      throw new FlinkClusterException("cannot assemble the Flink distribution: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new FlinkClusterException("cannot read or write " + LISTING + ": " + e.getMessage(), e);
    }
  }

  private static boolean isUsable(Path listing, Path pom) throws IOException {
    if (!Files.isRegularFile(listing)
        || Files.getLastModifiedTime(listing).compareTo(Files.getLastModifiedTime(pom)) < 0) {
      return false;
    }
    List<String> jars = Arrays.asList(Files.readString(listing).strip().split(File.pathSeparator));
    return jars.stream().anyMatch(jar -> jar.contains("flink-runtime-"))
        && jars.stream().allMatch(jar -> Files.isRegularFile(Path.of(jar)));
  }
}
