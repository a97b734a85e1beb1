package io.hybridbridge.emulator.kernel;

import io.hybridbridge.emulator.snapshot.ByteSource;
import java.io.IOException;
import java.util.Map;
import java.util.TreeMap;

/**
 * A real snapshot file seen through a few overwritten bytes and, optionally, a shorter length: corruption without
 * copying the file.
 */
final class CorruptedSource implements ByteSource {
  private final ByteSource real;
  private final TreeMap<Long, Byte> patches;
  private final long size;

  CorruptedSource(ByteSource real, Map<Long, Byte> patches, long size) {
    this.real = real;
    this.patches = new TreeMap<>(patches);
    this.size = Math.min(size, real.size());
  }

  @Override
  public long size() {
    return size;
  }

  @Override
  public String name() {
    return real.name() + " (corrupted)";
  }

  @Override
  public void readFully(long position, byte[] dst, int offset, int length) throws IOException {
    ByteSource.checkRange(this, position, length);
    real.readFully(position, dst, offset, length);
    for (Map.Entry<Long, Byte> p : patches.subMap(position, position + length).entrySet()) {
      dst[offset + (int) (p.getKey() - position)] = p.getValue();
    }
  }

  @Override
  public void close() {
    // the real source is shared between tries and closed by the test
  }
}
