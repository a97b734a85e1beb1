package io.hybridbridge.datasets;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The guest's ttyS0 as QEMU's stdio: a reader thread keeps every line (and a log file); commands are typed into
 * the guest shell and their output is collected up to a completion marker. The marker is typed split by quotes
 * ({@code "__HB_""DONE_7__"}), so an echo of the command line never looks like the marker itself.
 */
final class GuestConsole {
  private final OutputStream toGuest;
  private final List<String> lines = new ArrayList<>();
  private final StringBuilder partial = new StringBuilder();
  private final OutputStream log;
  private final Thread reader;
  private boolean closed;
  private int commandCount;

  GuestConsole(InputStream fromGuest, OutputStream toGuest, Path logFile) throws IOException {
    this.toGuest = toGuest;
    this.log = Files.newOutputStream(logFile, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING);
    this.reader = new Thread(() -> pump(fromGuest), "guest-console");
    reader.setDaemon(true);
    reader.start();
  }

  private void pump(InputStream in) {
    byte[] buffer = new byte[8192];
    try (in) {
      int n;
      while ((n = in.read(buffer)) > 0) {
        log.write(buffer, 0, n);
        log.flush();
        String text = new String(buffer, 0, n, StandardCharsets.ISO_8859_1);
        synchronized (this) {
          for (char c : text.toCharArray()) {
            if (c == '\n') {
              lines.add(partial.toString());
              partial.setLength(0);
            } else if (c != '\r') {
              partial.append(c);
            }
          }
          notifyAll();
        }
      }
    } catch (IOException ignored) {
      // QEMU went away; waiters see it through closed
    } finally {
      synchronized (this) {
        closed = true;
        notifyAll();
      }
      try {
        log.close();
      } catch (IOException ignored) {
        // the log is a diagnostic aid
      }
    }
  }

  /** True once QEMU closed the console: the guest is gone (e.g. it panicked and QEMU exited, -no-reboot). */
  synchronized boolean closed() {
    return closed;
  }

  /** Number of complete lines seen so far; a position to wait from. */
  synchronized int position() {
    return lines.size();
  }

  /** Waits for a line containing {@code marker} at or after {@code from}; returns its index. */
  synchronized int awaitLine(String marker, int from, Duration timeout, String what) throws DatasetException {
    long deadline = System.nanoTime() + timeout.toNanos();
    int scanned = from;
    while (true) {
      for (; scanned < lines.size(); scanned++) {
        if (lines.get(scanned).contains(marker)) {
          return scanned;
        }
      }
      long left = deadline - System.nanoTime();
      if (closed || left <= 0) {
        throw new DatasetException((closed ? "the guest stopped (QEMU exited) before " : "timed out after "
            + timeout.toSeconds() + " s waiting for ") + what + ". Last console lines:\n" + lastLines(20));
      }
      try {
        wait(Math.max(1, left / 1_000_000));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DatasetException("interrupted while waiting for " + what, e);
      }
    }
  }

  /** A command typed into the guest shell, whose completion marker has not been seen yet. */
  record Pending(String command, String marker, int from) {}

  /** Types {@code command} into the guest shell, followed by its completion marker; see {@link #await}. */
  Pending send(String command) throws DatasetException {
    int id = ++commandCount;
    int from = position();
    type(command + "; echo \"__HB_\"\"DONE_" + id + "__\"\n");
    return new Pending(command, "__HB_DONE_" + id + "__", from);
  }

  /** Waits for {@code pending} to finish and returns the lines it printed. */
  List<String> await(Pending pending, Duration timeout) throws DatasetException {
    int end = awaitLine(pending.marker(), pending.from(), timeout,
        "the guest command '" + pending.command() + "' to finish");
    synchronized (this) {
      List<String> output = new ArrayList<>(lines.subList(pending.from(), end));
      String last = lines.get(end);
      String beforeMarker = last.substring(0, last.indexOf(pending.marker()));
      if (!beforeMarker.isEmpty()) {
        output.add(beforeMarker);
      }
      return output;
    }
  }

  /** Runs {@code command} in the guest shell and returns the lines it printed. */
  List<String> run(String command, Duration timeout) throws DatasetException {
    return await(send(command), timeout);
  }

  private void type(String text) throws DatasetException {
    try {
      toGuest.write(text.getBytes(StandardCharsets.UTF_8));
      toGuest.flush();
    } catch (IOException e) {
      throw new DatasetException("cannot type into the guest console (QEMU gone?): " + e.getMessage()
          + ". Last console lines:\n" + lastLines(20), e);
    }
  }

  synchronized String lastLines(int count) {
    List<String> tail = new ArrayList<>(lines.subList(Math.max(0, lines.size() - count), lines.size()));
    if (partial.length() > 0) {
      tail.add(partial.toString());
    }
    String outOfMemory = lines.stream().filter(l -> l.contains("Out of memory: Killed process")).findFirst()
        .map(l -> "  the guest ran out of memory (" + l.strip() + "): give it more with --memory\n").orElse("");
    return outOfMemory + (tail.isEmpty() ? "  (no console output)" : "  | " + String.join("\n  | ", tail));
  }
}
