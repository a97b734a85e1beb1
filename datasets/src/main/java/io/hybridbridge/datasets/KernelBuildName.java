package io.hybridbridge.datasets;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A Debian kernel build name such as {@code 6.1.0-53-amd64} or {@code 6.12.95+deb12-cloud-amd64}: the part of
 * {@code linux-image-<build>-unsigned} between the prefix and the suffix. Only the shape is checked here; whether
 * the package exists is apt's answer.
 */
public record KernelBuildName(String name) {
  private static final Pattern SHAPE = Pattern.compile("\\d+\\.\\d+(\\.\\d+)?[-+][0-9a-z.+~-]*[0-9a-z]");

  public KernelBuildName {
    if (!SHAPE.matcher(name).matches()) {
      throw new IllegalArgumentException(name);
    }
  }

  public static KernelBuildName parse(String text) throws DatasetException {
    String trimmed = text.trim();
    if (!SHAPE.matcher(trimmed).matches()) {
      throw new DatasetException("'" + text + "' is not a Debian kernel build name (like 6.1.0-53-amd64 or "
          + "6.12.95+deb12-cloud-amd64); list valid names with: ./hb datasets kernels");
    }
    return new KernelBuildName(trimmed);
  }

  /** Parses a comma-separated list, keeping the order and dropping repeats. */
  public static List<KernelBuildName> parseList(String list) throws DatasetException {
    List<KernelBuildName> builds = new ArrayList<>();
    for (String part : list.split(",")) {
      if (part.isBlank()) {
        continue;
      }
      KernelBuildName build = parse(part);
      if (!builds.contains(build)) {
        builds.add(build);
      }
    }
    if (builds.isEmpty()) {
      throw new DatasetException("no kernel build given; list valid names with: ./hb datasets kernels");
    }
    return builds;
  }

  /** The Debian package holding this build's kernel image and modules. */
  public String packageName() {
    return "linux-image-" + name + "-unsigned";
  }

  /** Inverse of {@link #packageName()}; null for a package name of another shape. */
  public static KernelBuildName fromPackageName(String packageName) {
    String prefix = "linux-image-";
    String suffix = "-unsigned";
    if (!packageName.startsWith(prefix) || !packageName.endsWith(suffix)) {
      return null;
    }
    String name = packageName.substring(prefix.length(), packageName.length() - suffix.length());
    return SHAPE.matcher(name).matches() ? new KernelBuildName(name) : null;
  }

  @Override
  public String toString() {
    return name;
  }
}
