package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.kernel.ReferenceStore;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The reference stores of this JVM, one per directory: a store opens and identifies each reference and parses its
 * profile once, and every DoFn instance of a worker (one per thread) would otherwise redo it.
 */
final class References {
  private static final Map<String, ReferenceStore> STORES = new ConcurrentHashMap<>();

  private References() {}

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
