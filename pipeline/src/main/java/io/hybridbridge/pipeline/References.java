package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.kernel.ProfileException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The reference stores of this JVM, one per directory, and the profiles of their references: a store opens and
 * identifies each reference once, and every DoFn instance of a worker (one per thread) would otherwise redo it.
 */
final class References {
  private static final Map<String, ReferenceStore> STORES = new ConcurrentHashMap<>();

  private static final Map<String, Profile> PROFILES = new ConcurrentHashMap<>();

  private References() {}

  /** The profile (kallsyms) of {@code reference}, parsed once per JVM. */
  static Profile profile(ReferenceStore.Reference reference) throws ProfileException {
    String key = reference.kallsyms().map(Path::toString).orElse(reference.id());
    Profile cached = PROFILES.get(key);
    if (cached == null) {
      cached = reference.profile();
      PROFILES.putIfAbsent(key, cached);
    }
    return cached;
  }

  static ReferenceStore shared(String directory) throws IOException {
    try {
      return STORES.computeIfAbsent(directory, dir -> {
        try {
          return ReferenceStore.open(Path.of(dir));
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      });
    } catch (UncheckedIOException e) {
      throw new IOException("cannot read the references of " + directory + ": " + e.getCause().getMessage(),
          e.getCause());
    }
  }
}
