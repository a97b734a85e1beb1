package io.hybridbridge.datasets;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where dataset tests find the default dataset: -Dhb.dataset, $HB_DATASET, else $HB_CACHE/datasets/default. */
final class DatasetLocation {
  private DatasetLocation() {}

  static Path defaultDataset() {
    String property = System.getProperty("hb.dataset");
    if (property != null && !property.isBlank()) {
      return Path.of(property);
    }
    String env = System.getenv("HB_DATASET");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return HbCache.defaultDataset();
  }

  /** The default dataset's directory; fails (never skips) when it has not been built. */
  static Path requireDefaultDataset() {
    Path dir = defaultDataset();
    if (!Files.isRegularFile(dir.resolve(Manifests.FILE_NAME))) {
      throw new AssertionError("no dataset at " + dir + ": build it with ./hb datasets build (or ./run-tests)");
    }
    return dir;
  }
}
