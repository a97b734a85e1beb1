package io.hybridbridge.emulator.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

/** Opens snapshots; the container format is told by the content, never by the file name. */
public final class Snapshots {
  private Snapshots() {}

  /**
   * Opens a local snapshot, memory-mapped. A raw image picks up its CPU state from {@code <path>.cpu.json} when
   * that file exists.
   */
  public static Snapshot open(Path path) throws IOException, SnapshotFormatException {
    ByteSource source = ByteSource.map(path);
    Path sidecar = CpuSidecar.besides(path);
    return open(source, () -> Files.isRegularFile(sidecar) ? CpuSidecar.read(sidecar) : List.of());
  }

  /** Where the CPU state of a raw image comes from (asked only when the content is a raw image). */
  @FunctionalInterface
  public interface RawCpuStates {
    List<CpuState> get() throws SnapshotFormatException;
  }

  /**
   * Opens a snapshot from any byte source (for example a Beam {@code FileSystems} channel wrapped with
   * {@link ByteSource#of}). On success the snapshot owns the source; on failure the source is closed.
   */
  public static Snapshot open(ByteSource source, RawCpuStates rawCpuStates) throws IOException, SnapshotFormatException {
    try {
      return openUnchecked(source, rawCpuStates);
    } catch (IOException | SnapshotFormatException | RuntimeException e) {
      source.close();
      throw e;
    }
  }

  private static Snapshot openUnchecked(ByteSource source, RawCpuStates rawCpuStates)
      throws IOException, SnapshotFormatException {
    switch (detect(source)) {
      case ELF:
        return ElfCoreReader.open(source);
      case KDUMP:
        return source.size() >= FlattenedByteSource.SIGNATURE.length && startsWith(source, FlattenedByteSource.SIGNATURE)
            ? KdumpSnapshot.open(FlattenedByteSource.index(source), source.size())
            : KdumpSnapshot.open(source, source.size());
      case LIME:
        return LimeReader.open(source);
      default:
        return RawReader.open(source, rawCpuStates.get());
    }
  }

  /** The format the content announces; {@link ContainerFormat#RAW} when it announces none. */
  public static ContainerFormat detect(ByteSource source) throws IOException {
    if (startsWith(source, ElfCoreReader.MAGIC)) {
      return ContainerFormat.ELF;
    }
    if (startsWith(source, KdumpSnapshot.SIGNATURE) || startsWith(source, FlattenedByteSource.SIGNATURE)) {
      return ContainerFormat.KDUMP;
    }
    if (source.size() >= 4 && source.read(0, 4).getInt(0) == LimeReader.MAGIC) {
      return ContainerFormat.LIME;
    }
    return ContainerFormat.RAW;
  }

  private static boolean startsWith(ByteSource source, byte[] magic) throws IOException {
    if (source.size() < magic.length) {
      return false;
    }
    ByteBuffer head = source.read(0, magic.length);
    return Arrays.equals(head.array(), magic);
  }
}
