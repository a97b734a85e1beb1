package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.snapshot.SnapshotFormatException;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.pipeline.engine.EngineException;
import io.hybridbridge.pipeline.engine.InspectionEngine;
import io.hybridbridge.pipeline.engine.InspectionOutcome;
import io.hybridbridge.pipeline.engine.MetadataView;
import io.hybridbridge.pipeline.engine.SnapshotInspector;
import io.hybridbridge.schemas.SnapshotRef;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.Metadata;
import io.hybridbridge.taint.metadata.MetadataException;
import io.hybridbridge.taint.slowpath.SlowPath;
import io.hybridbridge.taint.slowpath.SlowPathException;
import io.hybridbridge.taint.slowpath.UntrustedSnapshot;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;

/**
 * The slow path of {@code taint/} (emulator + taint analysis) behind the engine seam: every inspection runs the
 * reference's kernel over the snapshot with taint-driven redirection and returns its rows and the training
 * metadata it recorded. It has no fast path, so it ignores the metadata it is given.
 */
public final class SlowPathEngine implements InspectionEngine<TrainingMetadata> {
  private final String referencesDir;

  /** @param referencesDir a dataset directory whose manifest.json lists the references */
  public SlowPathEngine(Path referencesDir) {
    this.referencesDir = referencesDir.toAbsolutePath().normalize().toString();
  }

  @Override
  public String name() {
    return "slow path";
  }

  @Override
  public Coder<TrainingMetadata> metadataCoder() {
    return AvroCoder.of(TrainingMetadata.class);
  }

  @Override
  public TrainingMetadata merge(TrainingMetadata older, TrainingMetadata newer) throws EngineException {
    try {
      return Metadata.merge(older, newer);
    } catch (MetadataException e) {
      throw new EngineException("cannot merge metadata: " + e.getMessage(), e);
    }
  }

  @Override
  public SnapshotInspector<TrainingMetadata> open() throws EngineException {
    try {
      return new Inspector(References.shared(referencesDir));
    } catch (IOException e) {
      throw new EngineException(e.getMessage(), e);
    }
  }

  /**
   * Kernel machines are opened one at a time in a JVM. Measured: when 4–8 threads of a fresh JVM open machines at
   * once, in about one run in four every machine of that JVM then stops with a NullPointerException in
   * {@code Executor.read} (an operand missing from a decoded instruction), however many are opened afterwards;
   * opened one at a time, none did in eight runs. Opening takes about a second, once per build and thread.
   */
  private static final Object OPENING = new Object();

  /** One slow path (a kernel machine on the reference) per kernel build this worker thread meets, kept warm. */
  private static final class Inspector implements SnapshotInspector<TrainingMetadata> {
    private final ReferenceStore references;
    private final Map<String, SlowPath> byReference = new HashMap<>();

    Inspector(ReferenceStore references) {
      this.references = references;
    }

    @Override
    public InspectionOutcome<TrainingMetadata> inspect(SnapshotRef snapshot, InspectionTool tool,
        MetadataView<TrainingMetadata> metadata) {
      String id = snapshot.getTarget().getId();
      try {
        SlowPath slow = slowPath(snapshot.getReferenceId());
        try (UntrustedSnapshot untrusted = UntrustedSnapshot.of(SnapshotFiles.open(snapshot.getTarget().getPath()),
            id, snapshot.getTarget().getVmId())) {
          SlowPath.Inspection run = slow.inspect(untrusted, tool);
          return InspectionOutcome.slow(run.rows(), run.metadata(), run.instructions(),
              run.redirectedInstructions());
        }
      } catch (SlowPathException e) {
        return InspectionOutcome.failed(e.reason() + ": " + e.getMessage(), 0, 0);
      } catch (IOException | SnapshotFormatException e) {
        return InspectionOutcome.failed("cannot open " + snapshot.getTarget().getPath() + ": " + e.getMessage(), 0,
            0);
      }
    }

    private SlowPath slowPath(String referenceId) throws SlowPathException {
      SlowPath slow = byReference.get(referenceId);
      if (slow == null) {
        Optional<ReferenceStore.Reference> reference = references.references().stream()
            .filter(r -> r.id().equals(referenceId)).findFirst();
        if (reference.isEmpty()) {
          throw new SlowPathException(SlowPathException.Reason.REFERENCE, "no reference " + referenceId + " in "
              + references.directory());
        }
        synchronized (OPENING) {
          slow = SlowPath.open(reference.get());
        }
        byReference.put(referenceId, slow);
      }
      return slow;
    }

    @Override
    public void close() {
      byReference.values().forEach(SlowPath::close);
      byReference.clear();
    }
  }
}
