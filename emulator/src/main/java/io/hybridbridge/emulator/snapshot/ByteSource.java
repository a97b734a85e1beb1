package io.hybridbridge.emulator.snapshot;

import java.io.Closeable;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;

/**
 * Random-access, read-only bytes of a snapshot container: a memory-mapped local file or any
 * {@link SeekableByteChannel} (what Beam's {@code FileSystems.open} returns for remote files).
 *
 * <p>Implementations are safe for concurrent reads.
 */
public interface ByteSource extends Closeable {
  /** Total length in bytes. */
  long size();

  /** Human-readable name for error messages (usually the path). */
  String name();

  /**
   * Reads exactly {@code length} bytes at {@code position}.
   *
   * @throws EOFException when the range extends past {@link #size()}
   */
  void readFully(long position, byte[] dst, int offset, int length) throws IOException;

  @Override
  void close() throws IOException;

  /** Reads {@code length} bytes at {@code position} into a new little-endian buffer. */
  default ByteBuffer read(long position, int length) throws IOException {
    byte[] bytes = new byte[length];
    readFully(position, bytes, 0, length);
    return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  /** Whether {@code [position, position + length)} lies inside the source (overflow-safe). */
  default boolean contains(long position, long length) {
    return position >= 0 && length >= 0 && position <= size() && length <= size() - position;
  }

  /** Memory-maps a local file: nothing is loaded, pages come from the OS page cache on demand. */
  static ByteSource map(Path path) throws IOException {
    return new MappedFileSource(path);
  }

  /** Wraps a channel (takes ownership: closing the source closes the channel). */
  static ByteSource of(SeekableByteChannel channel, String name) throws IOException {
    return new ChannelByteSource(channel, name);
  }

  /** Throws the standard error for a read outside {@code [0, size)}. */
  static void checkRange(ByteSource source, long position, int length) throws EOFException {
    if (!source.contains(position, length)) {
      throw new EOFException(String.format("%s: read of %d bytes at offset %d is past its end (%d bytes)",
          source.name(), length, position, source.size()));
    }
  }
}
