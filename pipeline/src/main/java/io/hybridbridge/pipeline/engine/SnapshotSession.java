package io.hybridbridge.pipeline.engine;

import io.hybridbridge.emulator.tools.InspectionTool;

/**
 * One snapshot opened once for several tools: a scan runs every tool of a snapshot through one session, so that an
 * engine opens the file and locates its kernel once per snapshot rather than once per tool. Same contract as
 * {@link SnapshotInspector#inspect} for each call; a snapshot that cannot be opened fails every tool with the same
 * reason. Not shared between threads.
 */
@FunctionalInterface
public interface SnapshotSession<M> extends AutoCloseable {
  /** Runs {@code tool} on the session's snapshot (see {@link SnapshotInspector#inspect}). */
  InspectionOutcome<M> inspect(InspectionTool tool, MetadataView<M> metadata);

  @Override
  default void close() {}
}
