package io.hybridbridge.datasets;

import java.io.PrintStream;
import java.time.Duration;

/** Progress lines on the terminal: elapsed time since the start of the run, then what is happening. */
public final class Progress {
  private final PrintStream out;
  private final long startNanos = System.nanoTime();

  public Progress(PrintStream out) {
    this.out = out;
  }

  public void say(String message) {
    out.printf("datasets [%6.1fs] %s%n", (System.nanoTime() - startNanos) / 1e9, message);
    out.flush();
  }

  public Duration elapsed() {
    return Duration.ofNanos(System.nanoTime() - startNanos);
  }

  static String seconds(long startNanos) {
    return String.format("%.1f s", (System.nanoTime() - startNanos) / 1e9);
  }
}
