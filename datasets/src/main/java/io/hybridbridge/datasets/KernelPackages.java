package io.hybridbridge.datasets;

import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;

/**
 * Kernel packages in the cache: {@code packages/debs/*.deb} as downloaded and {@code packages/kernels/<build>/}
 * as unpacked by {@code dpkg-deb -x} (never installed). An unpacked tree is reused without asking apt anything.
 */
final class KernelPackages {
  private static final String COMPLETE = ".unpacked";

  private final Path kernels;
  private final AptPackages apt;
  private final Progress progress;

  KernelPackages(Path packagesDir, Progress progress) {
    this.kernels = packagesDir.resolve("kernels");
    this.apt = new AptPackages(packagesDir, progress);
    this.progress = progress;
  }

  AptPackages apt() {
    return apt;
  }

  KernelTree unpacked(KernelBuildName build) throws DatasetException {
    Path dir = kernels.resolve(build.name());
    if (Files.exists(dir.resolve(COMPLETE))) {
      return KernelTree.open(dir);
    }
    Path deb = apt.download(build);
    try {
      Files.createDirectories(kernels);
      FileTrees.deleteRecursively(dir);
      Path partial = Files.createTempDirectory(kernels, "." + build.name() + "-");
      try {
        progress.say("unpacking " + deb.getFileName());
        HostCommand.Result result = HostCommand.run(
            List.of("dpkg-deb", "-x", deb.toString(), partial.toString()), null, Duration.ofMinutes(5));
        if (!result.ok()) {
          throw new DatasetException("dpkg-deb -x " + deb + " failed (a damaged download? delete it and retry):\n"
              + result.tail(10));
        }
        KernelTree.open(partial); // refuse a package that is not a kernel image before it enters the cache
        Files.writeString(partial.resolve(COMPLETE), deb.getFileName().toString());
        try {
          Files.move(partial, dir, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileAlreadyExistsException | DirectoryNotEmptyException e) {
          if (!Files.exists(dir.resolve(COMPLETE))) {
            throw e; // not another run that unpacked the same package meanwhile
          }
        }
      } finally {
        FileTrees.deleteRecursively(partial);
      }
      return KernelTree.open(dir);
    } catch (IOException e) {
      throw new DatasetException("cannot unpack " + deb + " into " + kernels + ": " + e.getMessage(), e);
    }
  }
}
