package io.hybridbridge.datasets;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * Debian kernel packages through a PRIVATE apt configuration (its own sources list, lists and cache under
 * {@code $HB_CACHE/packages/apt}), so bookworm-backports is reachable without editing the machine's sources.
 * Packages are downloaded, never installed.
 */
final class AptPackages {
  /** The suites that carry bookworm's kernels: the release, its updates and security, and backports (6.12). */
  static final String SOURCES = String.join("\n",
      "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main",
      "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-updates main",
      "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian-security bookworm-security main",
      "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main",
      "");
  private static final Duration LISTS_MAX_AGE = Duration.ofHours(24);
  private static final Duration APT_TIMEOUT = Duration.ofMinutes(10);

  private final Path aptRoot;
  private final Path debs;
  private final Progress progress;
  private boolean updatedThisRun;

  AptPackages(Path packagesDir, Progress progress) {
    this.aptRoot = packagesDir.resolve("apt");
    this.debs = packagesDir.resolve("debs");
    this.progress = progress;
  }

  /** Every kernel build name the private sources offer, sorted. */
  List<KernelBuildName> kernelBuilds() throws DatasetException {
    ensureLists(false);
    HostCommand.Result names = apt("apt-cache", List.of("pkgnames", "linux-image-"));
    if (!names.ok()) {
      throw new DatasetException("apt-cache pkgnames failed:\n" + names.tail(10));
    }
    TreeSet<String> sorted = new TreeSet<>();
    for (String line : names.output().split("\n")) {
      KernelBuildName build = KernelBuildName.fromPackageName(line.trim());
      if (build != null) {
        sorted.add(build.name());
      }
    }
    List<KernelBuildName> builds = new ArrayList<>();
    sorted.forEach(n -> builds.add(new KernelBuildName(n)));
    return builds;
  }

  /** The .deb of {@code build}, downloaded into the cache unless it is there already. */
  Path download(KernelBuildName build) throws DatasetException {
    try {
      Files.createDirectories(debs);
      Path cached = findDeb(build);
      if (cached != null) {
        return cached;
      }
      ensureLists(false);
      if (!exists(build) && !updatedThisRun) {
        ensureLists(true); // the lists may predate the package
      }
      if (!exists(build)) {
        throw new DatasetException("unknown kernel build '" + build + "': no package " + build.packageName()
            + " in bookworm, bookworm-updates, bookworm-security or bookworm-backports. "
            + "List valid names with: ./hb datasets kernels");
      }
      progress.say("downloading " + build.packageName());
      long start = System.nanoTime();
      Path partial = Files.createTempDirectory(debs, ".download-");
      try {
        HostCommand.Result result = apt("apt-get", List.of("download", build.packageName()), partial);
        if (!result.ok()) {
          throw new DatasetException("apt-get download " + build.packageName() + " failed:\n" + result.tail(10));
        }
        Path deb;
        try (var files = Files.list(partial)) {
          deb = files.filter(p -> p.getFileName().toString().endsWith(".deb")).findFirst()
              .orElseThrow(() -> new DatasetException("apt-get download produced no .deb for " + build));
        }
        Path target = debs.resolve(deb.getFileName());
        Files.move(deb, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        progress.say(String.format("downloaded %s (%.1f MB) in %s", target.getFileName(),
            Files.size(target) / 1e6, Progress.seconds(start)));
        return target;
      } finally {
        FileTrees.deleteRecursively(partial);
      }
    } catch (IOException e) {
      throw new DatasetException("cannot write the package cache " + debs + ": " + e.getMessage(), e);
    }
  }

  private Path findDeb(KernelBuildName build) throws IOException {
    String prefix = build.packageName() + "_";
    try (var files = Files.list(debs)) {
      return files.filter(p -> p.getFileName().toString().startsWith(prefix)
          && p.getFileName().toString().endsWith(".deb")).findFirst().orElse(null);
    }
  }

  private boolean exists(KernelBuildName build) throws DatasetException {
    HostCommand.Result show = apt("apt-cache", List.of("show", "--no-all-versions", build.packageName()));
    return show.ok() && show.output().contains("Package: " + build.packageName());
  }

  private void ensureLists(boolean force) throws DatasetException {
    try {
      Path stamp = aptRoot.resolve("lists.stamp");
      boolean fresh = Files.exists(stamp) && Files.getLastModifiedTime(stamp).toInstant()
          .isAfter(Instant.now().minus(LISTS_MAX_AGE));
      Path sources = aptRoot.resolve("sources.list");
      boolean sameSources = Files.exists(sources) && Files.readString(sources).equals(SOURCES);
      if (fresh && sameSources && !force) {
        return;
      }
      Files.createDirectories(aptRoot.resolve("lists/partial"));
      Files.createDirectories(aptRoot.resolve("cache/archives/partial"));
      Files.writeString(sources, SOURCES);
      progress.say("updating the private apt lists (bookworm, -updates, -security, -backports)");
      HostCommand.Result result = apt("apt-get", List.of("update"));
      if (!result.ok()) {
        throw new DatasetException("apt-get update (private configuration in " + aptRoot + ") failed:\n"
            + result.tail(10));
      }
      Files.writeString(stamp, Instant.now().toString());
      Files.setLastModifiedTime(stamp, FileTime.from(Instant.now()));
      updatedThisRun = true;
    } catch (IOException e) {
      throw new DatasetException("cannot write the private apt state in " + aptRoot + ": " + e.getMessage(), e);
    }
  }

  private HostCommand.Result apt(String program, List<String> args) throws DatasetException {
    return apt(program, args, aptRoot);
  }

  private HostCommand.Result apt(String program, List<String> args, Path workingDirectory)
      throws DatasetException {
    List<String> command = new ArrayList<>(List.of(program,
        "-o", "Dir::Etc::sourcelist=" + aptRoot.resolve("sources.list"),
        "-o", "Dir::Etc::sourceparts=-",
        "-o", "Dir::State::Lists=" + aptRoot.resolve("lists"),
        "-o", "Dir::Cache=" + aptRoot.resolve("cache"),
        "-o", "APT::Sandbox::User=root"));
    if (program.equals("apt-get")) {
      command.add("-q");
    }
    command.addAll(args);
    return HostCommand.run(command, workingDirectory, APT_TIMEOUT);
  }
}
