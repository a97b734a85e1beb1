package io.hybridbridge.pipeline;

import java.nio.file.Path;

/**
 * The real inspection engine a scan runs. Only an engine that really emulates the trusted kernel belongs here:
 * today the slow path of {@code taint/} ({@link SlowPathEngine}); the fast path of {@code fast-exec/} (issue 6),
 * with its metadata store, replaces it here when it lands. The test engines of the pipeline's tests never come
 * here.
 */
public final class Engines {
  private Engines() {}

  /**
   * The engine of a scan over the references of {@code references}, with its metadata store at {@code metadata}
   * (unused until the fast path lands: the slow path has no use for metadata during a scan).
   */
  public static Scan.Engine<?> real(Path references, Path metadata) {
    // The fast path plugs in here, with its store:
    //   return Scan.Engine.open(new FastPathEngine(references), new MetadataDirectory(metadata));
    // Its inspector answers from the metadata it is given (InspectionOutcome.fast) or stops with
    // InspectionOutcome.fallback; without metadata for a (build, tool) it runs the slow path (InspectionOutcome.slow).
    return Scan.Engine.withoutStore(new SlowPathEngine(references));
  }
}
