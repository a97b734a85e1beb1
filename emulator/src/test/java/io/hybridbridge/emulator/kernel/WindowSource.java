package io.hybridbridge.emulator.kernel;

import io.hybridbridge.emulator.snapshot.ByteSource;
import java.io.IOException;

/**
 * A prefix held in memory followed by a window of a real file: turns the RAM segment of a real ELF dump into a raw
 * image (empty prefix) or a LiME file (a range header as prefix) without copying it.
 */
final class WindowSource implements ByteSource {
  private final byte[] prefix;
  private final ByteSource file;
  private final long offset;
  private final long length;

  WindowSource(byte[] prefix, ByteSource file, long offset, long length) {
    this.prefix = prefix;
    this.file = file;
    this.offset = offset;
    this.length = length;
  }

  @Override
  public long size() {
    return prefix.length + length;
  }

  @Override
  public String name() {
    return file.name() + " (window)";
  }

  @Override
  public void readFully(long position, byte[] dst, int off, int count) throws IOException {
    ByteSource.checkRange(this, position, count);
    while (count > 0 && position < prefix.length) {
      dst[off++] = prefix[(int) position++];
      count--;
    }
    if (count > 0) {
      file.readFully(offset + position - prefix.length, dst, off, count);
    }
  }

  @Override
  public void close() {}
}
