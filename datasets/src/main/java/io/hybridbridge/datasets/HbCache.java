package io.hybridbridge.datasets;

import java.nio.file.Path;

/** The shared data cache: {@code $HB_CACHE}, by default {@code ~/.cache/hybrid-bridge}. */
public final class HbCache {
  private HbCache() {}

  public static Path root() {
    String env = System.getenv("HB_CACHE");
    if (env != null && !env.isBlank()) {
      return Path.of(env).toAbsolutePath();
    }
    return Path.of(System.getProperty("user.home"), ".cache", "hybrid-bridge");
  }

  /** Downloaded kernel packages, their unpacked trees, the private apt state and the initramfs images. */
  public static Path packages() {
    return root().resolve("packages");
  }

  /** Where {@code hb datasets build} writes when no {@code --out} is given. */
  public static Path defaultDataset() {
    return root().resolve("datasets").resolve("default");
  }
}
