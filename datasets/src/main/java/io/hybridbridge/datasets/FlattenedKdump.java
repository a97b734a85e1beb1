package io.hybridbridge.datasets;

import java.io.BufferedInputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * QEMU 7.x writes {@code kdump-zlib} dumps in makedumpfile's "flattened" stream format (made for pipes): a
 * 4096-byte header starting "makedumpfile", then blocks of (big-endian i64 offset, i64 size, bytes) ending with
 * offset = size = -1. This puts each block at its offset, giving the ordinary kdump-compressed file ("KDUMP   "
 * signature) that readers and tools such as crash expect — what {@code makedumpfile -R} does.
 */
final class FlattenedKdump {
  private static final byte[] SIGNATURE = "makedumpfile".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER_SIZE = 4096;
  private static final long END = -1;
  private static final long MAX_BLOCK = 1L << 30;

  private FlattenedKdump() {}

  static boolean isFlattened(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return Arrays.equals(in.readNBytes(SIGNATURE.length), SIGNATURE);
    }
  }

  /** Writes the reassembled dump of {@code flattened} to {@code target}. */
  static void reassemble(Path flattened, Path target) throws DatasetException {
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(flattened),
        1 << 20)); FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE,
        StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      byte[] header = new byte[HEADER_SIZE];
      in.readFully(header);
      if (!Arrays.equals(Arrays.copyOf(header, SIGNATURE.length), SIGNATURE)) {
        throw new DatasetException(flattened + " is not a flattened kdump (no makedumpfile signature)");
      }
      byte[] buffer = new byte[1 << 16];
      while (true) {
        long offset = in.readLong();
        long size = in.readLong();
        if (offset == END && size == END) {
          return;
        }
        if (offset < 0 || size < 0 || size > MAX_BLOCK) {
          throw new DatasetException(flattened + ": corrupt flattened block (offset " + offset + ", size " + size
              + ")");
        }
        long position = offset;
        long left = size;
        while (left > 0) {
          int n = (int) Math.min(left, buffer.length);
          in.readFully(buffer, 0, n);
          ByteBuffer chunk = ByteBuffer.wrap(buffer, 0, n);
          while (chunk.hasRemaining()) {
            position += out.write(chunk, position);
          }
          left -= n;
        }
      }
    } catch (EOFException e) {
      throw new DatasetException(flattened + ": flattened kdump ends before its end marker", e);
    } catch (IOException e) {
      throw new DatasetException("cannot reassemble " + flattened + " into " + target + ": " + e.getMessage(), e);
    }
  }
}
