package io.hybridbridge.emulator.snapshot;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/** A local file mapped read-only in 1 GiB windows (a single mapping is limited to 2 GiB). */
final class MappedFileSource implements ByteSource {
  private static final int WINDOW_SHIFT = 30;
  private static final long WINDOW = 1L << WINDOW_SHIFT;

  private final String name;
  private final long size;
  private final MappedByteBuffer[] windows;

  MappedFileSource(Path path) throws IOException {
    this.name = path.toString();
    try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
      this.size = channel.size();
      int count = (int) ((size + WINDOW - 1) >>> WINDOW_SHIFT);
      windows = new MappedByteBuffer[count];
      for (int i = 0; i < count; i++) {
        long start = (long) i << WINDOW_SHIFT;
        windows[i] = channel.map(FileChannel.MapMode.READ_ONLY, start, Math.min(WINDOW, size - start));
      }
    }
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public String name() {
    return name;
  }

  @Override
  public void readFully(long position, byte[] dst, int offset, int length) throws IOException {
    ByteSource.checkRange(this, position, length);
    while (length > 0) {
      int window = (int) (position >>> WINDOW_SHIFT);
      int inWindow = (int) (position & (WINDOW - 1));
      int n = Math.min(length, windows[window].capacity() - inWindow);
      windows[window].get(inWindow, dst, offset, n); // absolute get: no shared position, safe across threads
      position += n;
      offset += n;
      length -= n;
    }
  }

  @Override
  public void close() {
    // Mappings are released by the garbage collector; nothing to do eagerly.
  }
}
