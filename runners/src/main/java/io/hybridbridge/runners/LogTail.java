package io.hybridbridge.runners;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.stream.Stream;

/** The last lines of a log file, for error messages that must show what went wrong without opening files. */
public final class LogTail {
  private LogTail() {}

  /** The last {@code lines} lines of {@code log}, each indented, under a header naming the file. */
  public static String of(Path log, int lines) {
    Deque<String> tail = new ArrayDeque<>(lines);
    try (Stream<String> all = Files.lines(log, StandardCharsets.UTF_8)) {
      all.forEach(line -> {
        if (tail.size() == lines) {
          tail.removeFirst();
        }
        tail.addLast(line);
      });
    } catch (IOException | java.io.UncheckedIOException e) {
      return "--- " + log + ": unreadable (" + e.getMessage() + ")";
    }
    StringBuilder text = new StringBuilder("--- last ").append(tail.size()).append(" lines of ").append(log);
    tail.forEach(line -> text.append("\n  ").append(line));
    return text.toString();
  }
}
