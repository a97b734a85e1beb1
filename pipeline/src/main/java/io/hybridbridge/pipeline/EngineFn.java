package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.pipeline.engine.EngineException;
import io.hybridbridge.pipeline.engine.InspectionEngine;
import io.hybridbridge.pipeline.engine.InspectionOutcome;
import io.hybridbridge.pipeline.engine.MetadataView;
import io.hybridbridge.pipeline.engine.SnapshotInspector;
import io.hybridbridge.pipeline.engine.SnapshotSession;
import io.hybridbridge.schemas.SnapshotRef;
import java.util.function.Supplier;
import org.apache.beam.sdk.transforms.DoFn;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A DoFn that calls the engine seam: opens one {@link SnapshotInspector} per instance, closes it at teardown, and
 * times every call. An exception escaping the engine is a bug there; it becomes a FAILED outcome naming it, so
 * that one snapshot cannot fail the job.
 */
abstract class EngineFn<InputT, OutputT, M> extends DoFn<InputT, OutputT> {
  private static final Logger LOG = LoggerFactory.getLogger(EngineFn.class);

  private final InspectionEngine<M> engine;
  private transient SnapshotInspector<M> inspector;

  EngineFn(InspectionEngine<M> engine) {
    this.engine = engine;
  }

  InspectionEngine<M> engine() {
    return engine;
  }

  @Setup
  public void openInspector() throws EngineException {
    inspector = engine.open();
  }

  @Teardown
  public void closeInspector() {
    if (inspector != null) {
      inspector.close();
      inspector = null;
    }
  }

  /**
   * One timed inspection.
   *
   * @param engineBug non-null when the engine broke its contract (threw, or returned no outcome): the pair then
   *     fails as INTERNAL with this reason, whatever {@code outcome} says
   */
  record Timed<M>(InspectionOutcome<M> outcome, long wallMillis, String engineBug) {}

  /** One timed inspection of {@code snapshot} on its own. */
  Timed<M> inspect(SnapshotRef snapshot, InspectionTool tool, MetadataView<M> metadata) {
    return timed(snapshot, tool, () -> inspector.inspect(snapshot, tool, metadata));
  }

  /** One timed inspection of {@code snapshot} in {@code session} (opened by {@link #session}). */
  Timed<M> inspect(SnapshotSession<M> session, SnapshotRef snapshot, InspectionTool tool,
      MetadataView<M> metadata) {
    return timed(snapshot, tool, () -> session.inspect(tool, metadata));
  }

  /**
   * {@code snapshot} opened once for several tools. An engine that throws here has every tool of the session fail
   * as INTERNAL with that exception.
   */
  SnapshotSession<M> session(SnapshotRef snapshot) {
    try {
      return inspector.session(snapshot);
    } catch (RuntimeException e) {
      return (tool, metadata) -> {
        throw e;
      };
    }
  }

  private Timed<M> timed(SnapshotRef snapshot, InspectionTool tool, Supplier<InspectionOutcome<M>> call) {
    long start = System.nanoTime();
    InspectionOutcome<M> outcome = null;
    String bug = null;
    try {
      outcome = call.get();
      if (outcome == null) {
        bug = "engine " + engine.name() + " returned no outcome";
      }
    } catch (RuntimeException e) {
      LOG.warn("engine {} threw on {} / {}", engine.name(), snapshot.getTarget().getId(), tool.name(), e);
      bug = "engine " + engine.name() + " threw " + e;
    }
    if (bug != null) {
      outcome = InspectionOutcome.failed(bug, 0, 0);
    }
    return new Timed<>(outcome, (System.nanoTime() - start) / 1_000_000, bug);
  }
}
