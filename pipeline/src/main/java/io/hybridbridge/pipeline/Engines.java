package io.hybridbridge.pipeline;

import io.hybridbridge.fastexec.FastPath;
import io.hybridbridge.fastexec.store.TranslationStore;
import io.hybridbridge.pipeline.engine.EngineException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The real inspection engine a scan runs: {@link BridgeEngine} (the fast path, the slow path behind it) with the
 * fast path's metadata store ({@link MetadataDirectory}). Only an engine that really emulates the trusted kernel
 * belongs here; the test engines of the pipeline's tests never come here.
 */
public final class Engines {
  private Engines() {}

  /**
   * The engine of a scan over the references of {@code references}, starting from the newest version of the
   * metadata store at {@code metadata} (created when missing).
   */
  public static Scan.Engine<?> real(Path references, Path metadata) throws EngineException {
    return real(references, metadata, FastPath.TRANSLATE_AFTER);
  }

  /**
   * The same, its fast paths translating T's hot code after {@code translateAfter} inspections each, and keeping it
   * in the metadata store ({@link TranslationStore#ofMetadataStore}), where the next scan's fast paths find it.
   */
  public static Scan.Engine<?> real(Path references, Path metadata, int translateAfter) throws EngineException {
    return real(references, metadata, translateAfter, 0);
  }

  /** The same, each inspector keeping at most {@code openFastPaths} fast paths open (0: as many as its heap says). */
  static Scan.Engine<?> real(Path references, Path metadata, int translateAfter, int openFastPaths)
      throws EngineException {
    return Scan.Engine.open(new BridgeEngine(references, translateAfter,
        Optional.of(TranslationStore.ofMetadataStore(metadata).directory()), openFastPaths),
        new MetadataDirectory(metadata));
  }
}
