package io.hybridbridge.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One scan per output and date: the lock, whom a refusal names, and a file system that cannot lock. */
class OutputLockTest {
  private static final LocalDate DAY = LocalDate.of(2026, 11, 27);

  @Test
  void oneScanOfADateAtATimeAndAnyOtherDateMeanwhile(@TempDir Path out) throws Exception {
    try (OutputLock first = OutputLock.acquire(out, DAY)) {
      assertThatThrownBy(() -> OutputLock.acquire(out, DAY)).isInstanceOf(ScanCommand.UsageException.class)
          .hasMessageContaining("another hb scan is writing the tables of " + DAY + " in " + out)
          .hasMessageContaining("process " + ProcessHandle.current().pid() + " on ")
          .hasMessageContaining(out.resolve("_locks/scan_date=" + DAY + ".lock").toString());
      try (OutputLock otherDate = OutputLock.acquire(out, DAY.plusDays(1))) {
        assertThat(otherDate).isNotNull();
      }
    }
    try (OutputLock again = OutputLock.acquire(out, DAY)) {
      assertThat(again).as("released when the first scan ended").isNotNull();
    }
  }

  @Test
  void whereTheLockCannotBeTakenTheScanGoesOnWithAWarning(@TempDir Path out) throws Exception {
    Files.createDirectories(out.resolve("_locks/scan_date=" + DAY + ".lock")); // not a file that can be locked
    PrintStream err = System.err;
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    System.setErr(new PrintStream(printed, true, StandardCharsets.UTF_8));
    try (OutputLock none = OutputLock.acquire(out, DAY)) {
      assertThat(none).isNotNull();
    } finally {
      System.setErr(err);
    }
    assertThat(printed.toString(StandardCharsets.UTF_8)).contains("warning: cannot lock")
        .contains("would not be noticed");
  }
}
