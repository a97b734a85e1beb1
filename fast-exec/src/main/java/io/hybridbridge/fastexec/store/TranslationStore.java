package io.hybridbridge.fastexec.store;

import io.hybridbridge.emulator.cpu.CompiledRegions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * T's translated code, kept in a directory (a scan keeps it in its metadata store's {@code translated/}), so that a
 * worker neither compiles again what another compiled nor waits to find T's hot code again:
 *
 * <pre>
 * DIR/classes/&lt;key&gt;.class     a region's class file, under the emulator's key for it (a hash of its source and of
 *                              what it links to): written once, atomically; what a key names never changes
 * DIR/plans/&lt;reference&gt;.plan   the batches of block starts the fast paths of one reference translated, one batch a
 *                              line of hex pcs, in the order they were translated
 * </pre>
 *
 * <p>A fast path replays its reference's plan when it opens: the same batches on the same code make the same regions,
 * whose classes are here. Every write is a temporary file renamed into place, so readers see whole files; two workers
 * adding a batch at once may lose one of them, which costs its compilation again, never a wrong result: the plan only
 * says what to translate, and a region is found only under the hash of its own source. The classes run in the
 * worker's JVM: this directory must be as trusted as the job's code (the metadata store is).
 *
 * <p>Another build of the emulator, or another JDK, keys its regions anew, so the classes of the one before are never
 * found again. A class or plan found is marked used (its modification time, at most once a {@link #USE_MARK}), and
 * {@link #prune} removes what no fast path has used for a while.
 */
public final class TranslationStore implements CompiledRegions {
  private static final Pattern KEY = Pattern.compile("[0-9a-f]{64}");
  private final Path directory;
  private final Path classes;
  private final Path plans;
  private final AtomicBoolean warned = new AtomicBoolean();

  private TranslationStore(Path directory) {
    this.directory = directory;
    this.classes = directory.resolve("classes");
    this.plans = directory.resolve("plans");
  }

  /** The store in {@code directory} (created when something is first kept). */
  public static TranslationStore in(Path directory) {
    return new TranslationStore(directory);
  }

  /** Where a metadata store in {@code metadataStore} keeps translated code. */
  public static TranslationStore ofMetadataStore(Path metadataStore) {
    return in(metadataStore.resolve("translated"));
  }

  /** Its directory. */
  public Path directory() {
    return directory;
  }

  @Override
  public byte[] find(String key) {
    if (!KEY.matcher(key).matches()) {
      return null;
    }
    Path file = classes.resolve(key + ".class");
    try {
      byte[] classFile = Files.readAllBytes(file);
      markUsed(file);
      return classFile;
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      warn("cannot read " + classes.resolve(key + ".class"), e);
      return null;
    }
  }

  @Override
  public void keep(String key, byte[] classFile) {
    if (!KEY.matcher(key).matches()) {
      throw new IllegalArgumentException("not a region key: " + key);
    }
    write(classes.resolve(key + ".class"), classFile); // replaces a damaged one: a key names one content
  }

  /** The batches of block starts translated for {@code reference}, in order (none if nothing was kept). */
  public List<List<Long>> plan(String reference) {
    Path file = plans.resolve(planName(reference));
    List<List<Long>> batches = new ArrayList<>();
    try {
      for (String line : Files.readAllLines(file, StandardCharsets.US_ASCII)) {
        if (line.isBlank() || line.startsWith("#")) {
          continue;
        }
        batches.add(Arrays.stream(line.trim().split(" ")).map(pc -> Long.parseUnsignedLong(pc, 16)).toList());
      }
    } catch (NoSuchFileException e) {
      return List.of();
    } catch (IOException | NumberFormatException e) {
      warn("cannot read the plan " + file + " (its code is translated again when it is hot)", e);
      return List.of();
    }
    markUsed(file);
    return batches;
  }

  /** How often a file found is marked used, at most: a day, much less than what {@link #prune} is given. */
  static final Duration USE_MARK = Duration.ofDays(1);

  /** Marks {@code file} used now, unless it was within {@link #USE_MARK}; a store that cannot be written is not. */
  private void markUsed(Path file) {
    try {
      Instant now = Instant.now();
      if (Files.getLastModifiedTime(file).toInstant().isBefore(now.minus(USE_MARK))) {
        Files.setLastModifiedTime(file, FileTime.from(now));
      }
    } catch (IOException e) {
      warn("cannot mark " + file + " used (hb prune may remove it while it is still used)", e);
    }
  }

  /** What {@link #prune} removed and kept: files (classes and plans) and their bytes. */
  public record Pruned(int removed, long removedBytes, int kept, long keptBytes) {}

  /**
   * Removes the classes and plans no fast path has found for {@code unusedFor} (at least {@link #USE_MARK} longer:
   * a file used is marked at most that often), and temporary files of writes that stopped, older than that. A fast
   * path that needs a class removed compiles it again (and keeps it anew); one whose plan was removed finds its hot
   * code again.
   */
  public Pruned prune(Duration unusedFor) throws IOException {
    if (unusedFor.compareTo(USE_MARK) <= 0) {
      throw new IllegalArgumentException("translated code is marked used once a day: prune what was unused for "
          + "longer than " + USE_MARK + ", not " + unusedFor);
    }
    Instant before = Instant.now().minus(unusedFor);
    int removed = 0;
    int kept = 0;
    long removedBytes = 0;
    long keptBytes = 0;
    for (Path dir : List.of(classes, plans)) {
      if (!Files.isDirectory(dir)) {
        continue;
      }
      List<Path> files;
      try (Stream<Path> listed = Files.list(dir)) {
        files = listed.filter(Files::isRegularFile).toList();
      }
      for (Path file : files) {
        try {
          long bytes = Files.size(file);
          if (Files.getLastModifiedTime(file).toInstant().isBefore(before)) {
            Files.delete(file);
            removed++;
            removedBytes += bytes;
          } else {
            kept++;
            keptBytes += bytes;
          }
        } catch (NoSuchFileException e) {
          // removed meanwhile (another prune, or a temporary file renamed into place)
        }
      }
    }
    return new Pruned(removed, removedBytes, kept, keptBytes);
  }

  /** Adds a batch of block starts translated for {@code reference} to its plan. */
  public void addBatch(String reference, List<Long> starts) {
    if (starts.isEmpty()) {
      return;
    }
    Path file = plans.resolve(planName(reference));
    StringBuilder text = new StringBuilder();
    try {
      text.append(Files.readString(file, StandardCharsets.US_ASCII));
    } catch (NoSuchFileException e) {
      text.append("# block starts translated by fast paths of reference ").append(reference.replace('\n', ' '))
          .append(", one batch a line\n");
    } catch (IOException e) {
      warn("cannot read the plan " + file, e);
      return;
    }
    for (int k = 0; k < starts.size(); k++) {
      text.append(k == 0 ? "" : " ").append(Long.toHexString(starts.get(k)));
    }
    write(file, text.append('\n').toString().getBytes(StandardCharsets.US_ASCII));
  }

  /** A file name for {@code reference} (any text: a reference id with its build and where T's kernel lies). */
  private static String planName(String reference) {
    return sha256(reference) + ".plan";
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(
          text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  /** Writes {@code bytes} to {@code file} whole: a temporary file beside it, renamed onto it. */
  private void write(Path file, byte[] bytes) {
    Path temp = file.resolveSibling(".tmp-" + Long.toHexString(ThreadLocalRandom.current().nextLong()));
    try {
      Files.createDirectories(file.getParent());
      Files.write(temp, bytes);
      Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      warn("cannot keep " + file + " (it is compiled again next time)", e);
      try {
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // the temporary file stays; it is never read
      }
    }
  }

  /**
   * One line in the worker's log for the first failure: a store that cannot be written fails for every region (a
   * few hundred per build), and each failure costs only time.
   */
  private void warn(String what, Exception e) {
    if (!warned.getAndSet(true)) {
      System.err.println("translated code: " + what + ": " + e + " (further failures with " + directory
          + " are not shown)");
    }
  }
}
