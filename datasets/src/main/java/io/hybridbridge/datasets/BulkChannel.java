package io.hybridbridge.datasets;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * The guest's ttyS1, written by QEMU to a host file ({@code -serial file:...}): the bulk channel for ground truth
 * and kallsyms, raw bytes, read here as frames between marker lines.
 */
final class BulkChannel {
  /** Longest silence accepted in the middle of a frame. */
  static final Duration STALL_TIMEOUT = Duration.ofSeconds(60);
  private final Path file;

  BulkChannel(Path file) {
    this.file = file;
  }

  Path file() {
    return file;
  }

  long size() {
    try {
      return Files.exists(file) ? Files.size(file) : 0;
    } catch (IOException e) {
      return 0;
    }
  }

  /**
   * Waits until a frame written at or after {@code from} is complete and returns the bytes between the end of the
   * line {@code beginLine} and the start of the line {@code endLine}.
   */
  byte[] awaitFrame(String beginLine, String endLine, long from, Duration timeout, GuestConsole console)
      throws DatasetException {
    return awaitFrame(beginLine, endLine, from, timeout, STALL_TIMEOUT, console);
  }

  /** As above; fails early when no byte arrives for {@code stallTimeout} (a stuck serial port). */
  byte[] awaitFrame(String beginLine, String endLine, long from, Duration timeout, Duration stallTimeout,
      GuestConsole console) throws DatasetException {
    byte[] begin = (beginLine + "\n").getBytes(StandardCharsets.UTF_8);
    byte[] end = ("\n" + endLine + "\n").getBytes(StandardCharsets.UTF_8);
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    long read = from;
    int searchFrom = 0;
    long deadline = System.nanoTime() + timeout.toNanos();
    long lastProgress = System.nanoTime();
    try {
      while (true) {
        long size = size();
        if (size > read) {
          lastProgress = System.nanoTime();
          try (RandomAccessFile in = new RandomAccessFile(file.toFile(), "r")) {
            in.seek(read);
            byte[] chunk = new byte[(int) Math.min(size - read, 1 << 24)];
            in.readFully(chunk);
            seen.write(chunk);
            read += chunk.length;
          }
          byte[] bytes = seen.toByteArray();
          int endAt = indexOf(bytes, end, Math.max(0, searchFrom - end.length));
          searchFrom = bytes.length;
          if (endAt >= 0) {
            int beginAt = indexOf(bytes, begin, 0);
            if (beginAt < 0 || beginAt > endAt + 1) {
              throw new DatasetException("the guest's ground-truth channel has '" + endLine + "' without '"
                  + beginLine + "' before it (" + file + ")");
            }
            return Arrays.copyOfRange(bytes, beginAt + begin.length, endAt + 1);
          }
        }
        if (console != null && console.closed() && size() == read) {
          throw new DatasetException("the guest stopped (QEMU exited) before '" + endLine + "' came on ttyS1. "
              + "Last console lines:\n" + console.lastLines(20));
        }
        boolean stalled = System.nanoTime() - lastProgress > stallTimeout.toNanos();
        if (System.nanoTime() > deadline || stalled) {
          throw new DatasetException((stalled ? "the guest's ttyS1 stalled: nothing for "
              + stallTimeout.toSeconds() + " s" : "timed out after " + timeout.toSeconds() + " s") + " waiting for '"
              + endLine + "' (" + (read - from) + " bytes came). Last console lines:\n"
              + (console == null ? "" : console.lastLines(20)));
        }
        Thread.sleep(20);
      }
    } catch (IOException e) {
      throw new DatasetException("cannot read the guest's ttyS1 file " + file + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new DatasetException("interrupted while reading the guest's ttyS1", e);
    }
  }

  static int indexOf(byte[] haystack, byte[] needle, int from) {
    outer:
    for (int i = Math.max(0, from); i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
