package io.hybridbridge.emulator.snapshot;

import io.hybridbridge.schemas.SnapshotFormat;

/**
 * Container format of a snapshot, as detected from its content. Mirrors the schema's {@link SnapshotFormat}
 * (use {@link #toSchema()} for records): the Avro-generated enum parses its schema when its class initialises,
 * which costs ≈0.5 s of a one-second {@code hb info}, so the readers do not touch it.
 */
public enum ContainerFormat {
  ELF, KDUMP, LIME, RAW;

  public SnapshotFormat toSchema() {
    return SnapshotFormat.valueOf(name());
  }
}
