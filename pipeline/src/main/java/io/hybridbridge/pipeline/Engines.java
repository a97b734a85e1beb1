package io.hybridbridge.pipeline;

import io.hybridbridge.pipeline.engine.EngineException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * The real inspection engines a scan may run. Only an engine that really emulates the trusted kernel belongs here:
 * the slow path of {@code taint/} (issue 5) and the fast path of {@code fast-exec/} (issue 6). Until one lands
 * there is none, and {@code hb scan} refuses to inspect rather than produce rows from anything else (the test
 * engines of the pipeline's tests never come here).
 */
public final class Engines {
  /** What {@code hb scan} prints when tools are asked for and no engine exists. */
  public static final String NOT_AVAILABLE = "inspection engine not available yet: the slow path (taint/, issue 5)"
      + " and the fast path (fast-exec/, issue 6) are still being built";

  private Engines() {}

  /**
   * The engine of a scan over the references of {@code references}, with its metadata store at {@code metadata};
   * empty while no real engine exists.
   */
  public static Optional<Scan.Engine<?>> real(Path references, Path metadata) throws EngineException {
    // Plug-in point. With the slow path alone, for example:
    //   return Optional.of(Scan.Engine.open(new SlowPathEngine(references), new MetadataDirectory(metadata)));
    // (an adapter implementing InspectionEngine<TrainingMetadata> over KernelMachine + the taint router, and the
    // store of issue 6); with the fast path, its engine falls back by returning InspectionOutcome.fallback.
    return Optional.empty();
  }
}
