package io.hybridbridge.pipeline.engine;

import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The versioned, append-only metadata store (DESIGN §4): a run reads version <i>n</i> when the job is built and,
 * once, commits what it learnt as a new version; a run that fails leaves the store as it was.
 */
public interface MetadataStore<M> extends Serializable {
  /**
   * One version of the store: its number (0 for an empty store), one unit per (build, tool), and what the store tells
   * a user about it (units it left out, say).
   */
  record Version<M>(long number, Map<BuildTool, M> units, List<String> notes) {
    public Version {
      units = Map.copyOf(units);
      notes = List.copyOf(notes);
    }

    public Version(long number, Map<BuildTool, M> units) {
      this(number, units, List.of());
    }
  }

  /**
   * What a version holds, without its units: its number, the (build, tool)s it has units of, and what the store tells
   * a user about it. A job is planned from this; its workers read the units of the builds they scan ({@link #units}).
   */
  record Index(long number, Set<BuildTool> units, List<String> notes) {
    public Index {
      units = Set.copyOf(units);
      notes = List.copyOf(notes);
    }
  }

  /** The newest version, all its units (for a tool or test that needs them all; a scan reads {@link #index}). */
  Version<M> read() throws EngineException;

  /** The newest version's {@link Index}. Called by the launcher while it builds the job. */
  default Index index() throws EngineException {
    Version<M> newest = read();
    return new Index(newest.number(), newest.units().keySet(), newest.notes());
  }

  /** The units of the builds {@code buildIds} in version {@code number}, read at once. Called on workers. */
  Map<BuildTool, M> units(long number, Set<String> buildIds) throws EngineException;

  /**
   * Writes a new version: the newest one's units with {@code learnt} merged into them, atomically. {@code learnt}
   * is what this run learnt per (build, tool), not merged with the store: if another run committed meanwhile, the
   * store merges into that run's version, so no run's learning is lost. Called once per run, on one worker.
   *
   * @return the version written, with the units this commit wrote (those of {@code learnt}, merged with the store's);
   *     its other units are the previous version's, not read ({@link #units} reads them)
   */
  Version<M> commit(Map<BuildTool, M> learnt) throws EngineException;
}
