package io.hybridbridge.emulator.snapshot;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SeekableByteChannel;

/** Positional reads over a {@link SeekableByteChannel}; serialised because a channel has one position. */
final class ChannelByteSource implements ByteSource {
  private final SeekableByteChannel channel;
  private final String name;
  private final long size;

  ChannelByteSource(SeekableByteChannel channel, String name) throws IOException {
    this.channel = channel;
    this.name = name;
    this.size = channel.size();
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
  public synchronized void readFully(long position, byte[] dst, int offset, int length) throws IOException {
    ByteSource.checkRange(this, position, length);
    channel.position(position);
    ByteBuffer buffer = ByteBuffer.wrap(dst, offset, length);
    while (buffer.hasRemaining()) {
      if (channel.read(buffer) < 0) {
        throw new EOFException(name + ": channel ended early at offset " + (position + buffer.position() - offset));
      }
    }
  }

  @Override
  public synchronized void close() throws IOException {
    channel.close();
  }
}
