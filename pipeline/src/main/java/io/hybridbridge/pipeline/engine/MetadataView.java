package io.hybridbridge.pipeline.engine;

import java.util.Map;
import java.util.Optional;

/** The metadata an inspection may use: the store's version this run read, plus what this run trained. */
@FunctionalInterface
public interface MetadataView<M> {
  /** The unit of {@code key}, if the run has one. */
  Optional<M> get(BuildTool key);

  /** No metadata: every inspection takes the slow path (training, re-training). */
  static <M> MetadataView<M> none() {
    return key -> Optional.empty();
  }

  /** A view of {@code units} (for example a Beam map side input). */
  static <M> MetadataView<M> of(Map<BuildTool, M> units) {
    return key -> Optional.ofNullable(units.get(key));
  }
}
