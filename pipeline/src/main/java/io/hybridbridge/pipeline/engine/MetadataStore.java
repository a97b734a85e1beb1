package io.hybridbridge.pipeline.engine;

import java.io.Serializable;
import java.util.Map;

/**
 * The versioned, append-only metadata store (DESIGN §4): a run reads version <i>n</i> when the job is built and,
 * once, writes <i>n+1</i> with what it learnt; a run that fails leaves <i>n</i> intact.
 */
public interface MetadataStore<M> extends Serializable {
  /** One version of the store: its number (0 for an empty store) and one unit per (build, tool). */
  record Version<M>(long number, Map<BuildTool, M> units) {
    public Version {
      units = Map.copyOf(units);
    }
  }

  /** The newest version. Called by the launcher while it builds the job. */
  Version<M> read() throws EngineException;

  /**
   * Writes the version after {@code baseVersion}: the base's units with {@code changed} replacing theirs (the scan
   * has already merged each changed unit with the base's), atomically. Called once per run, on one worker.
   *
   * @return the number of the version written
   */
  long commit(long baseVersion, Map<BuildTool, M> changed) throws EngineException;
}
