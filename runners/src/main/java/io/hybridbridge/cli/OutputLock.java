package io.hybridbridge.cli;

import io.hybridbridge.cli.ScanCommand.UsageException;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.LocalDate;
import java.time.temporal.ChronoUnit;

/**
 * One {@code hb scan} at a time per output directory and scan date, held for the whole command (all its jobs). Two
 * scans of one date would otherwise replace or add to the same tables at once, and a resumed one would take the
 * other's staging for an interrupted run and remove it. Scans of other dates into the same directory run freely.
 *
 * <p>The lock is the operating system's ({@link FileChannel#tryLock}) on {@code OUT/_locks/scan_date=D.lock}, so it
 * ends with the process that held it, however it ended; the file says who holds it. A Flink job whose command was
 * stopped runs on without it: {@link ScanResumption#requireNoJobStillRunning} checks the cluster for those.
 */
final class OutputLock implements AutoCloseable {
  static final String LOCK_DIR = "_locks";

  /** Null when the file system cannot lock (the scan goes on without). */
  private final FileChannel file;
  private final FileLock lock;

  private OutputLock(FileChannel file, FileLock lock) {
    this.file = file;
    this.lock = lock;
  }

  /**
   * The lock of {@code date}'s scans into {@code out}; refused while another scan holds it. Where the file system
   * cannot lock, a warning says so and the scan goes on without (as before there was a lock).
   */
  static OutputLock acquire(Path out, LocalDate date) throws UsageException {
    Path path = out.resolve(LOCK_DIR).resolve("scan_date=" + date + ".lock");
    FileChannel file = null;
    try {
      Files.createDirectories(path.getParent());
      file = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      FileLock lock = tryLock(file);
      if (lock == null) {
        String holder = Files.readString(path, StandardCharsets.UTF_8).strip();
        file.close();
        throw new UsageException("another hb scan is writing the tables of " + date + " in " + out
            + (holder.isEmpty() ? "" : " (" + holder + ")") + ": wait for it to end (a scan of another --scan-date "
            + "can run meanwhile); the lock is " + path);
      }
      file.truncate(0);
      file.write(ByteBuffer.wrap(holder().getBytes(StandardCharsets.UTF_8)));
      file.force(false);
      return new OutputLock(file, lock);
    } catch (IOException e) {
      closeQuietly(file);
      FlinkCommand.progress("warning: cannot lock " + path + " (" + e.getMessage() + "): another scan of " + date
          + " into " + out + " at the same time would not be noticed");
      return new OutputLock(null, null);
    }
  }

  /** The lock, or null when another process holds it, or this JVM (another scan command run in it). */
  private static FileLock tryLock(FileChannel file) throws IOException {
    try {
      return file.tryLock();
    } catch (OverlappingFileLockException e) {
      return null;
    }
  }

  /** Who holds the lock, for the message of a scan refused: process, host, since when. */
  private static String holder() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "this host";
    }
    return "process " + ProcessHandle.current().pid() + " on " + host + " since "
        + Instant.now().truncatedTo(ChronoUnit.SECONDS);
  }

  private static void closeQuietly(FileChannel file) {
    if (file != null) {
      try {
        file.close();
      } catch (IOException e) {
        // the refusal or the error says what matters
      }
    }
  }

  /** Releases the lock; the file stays (removing it could let two scans lock two different files). */
  @Override
  public void close() {
    if (lock != null) {
      try {
        lock.release();
      } catch (IOException e) {
        // closing the channel releases it too
      }
    }
    closeQuietly(file);
  }
}
