package io.hybridbridge.fastexec.store;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.Metadata;
import io.hybridbridge.taint.metadata.MetadataException;
import io.hybridbridge.taint.metadata.MetadataFiles;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The metadata store (DESIGN §4): a directory of numbered, immutable versions, each holding one training metadata
 * unit per (build-id, tool). Append-only: a run reads version <i>n</i> ({@link #latest()}) and {@link #commit}s what
 * it learnt as version <i>n+1</i>; nothing is ever rewritten, so a crashed run leaves <i>n</i> intact.
 *
 * <pre>
 * DIR/v000001/version.json                        number, parent, time, units (build, build-id, tool, format, entries,
 *                                                 file)
 * DIR/v000001/&lt;build-id&gt;/&lt;tool&gt;.metadata.avro     one TrainingMetadata (MetadataFiles)
 * DIR/.tmp-…/                                     a version being written (ignored; stale ones are removed)
 * </pre>
 *
 * <p><b>Atomic</b>: a version is written completely in a temporary directory, then renamed to its number; readers
 * only ever see whole versions. <b>Concurrent writers</b>: the rename of a directory onto an existing, non-empty one
 * fails, so of two runs committing on top of the same version exactly one gets the next number; the other reads the
 * new latest version, merges its deltas into it again and tries the number after (optimistic, no lock; works on any
 * local or shared POSIX file system with atomic rename). Unchanged units are hard links to the previous version's
 * files (copies where links are not supported).
 *
 * <pre>{@code
 * MetadataStore store = MetadataStore.open(dir);
 * MetadataStore.Version v = store.latest();                 // number 0 and no units when empty
 * Optional<TrainingMetadata> ps = v.get(buildId, "ps");
 * MetadataStore.Version next = store.commit(List.of(delta)); // deltas: what this run learnt, not yet merged
 * }</pre>
 */
public final class MetadataStore {
  private static final Pattern VERSION = Pattern.compile("v(\\d{6,})");
  private static final Pattern SAFE_NAME = Pattern.compile("[A-Za-z0-9._+-]+");
  private static final String MANIFEST = "version.json";
  private static final String TEMP_PREFIX = ".tmp-";
  /** Commits that lose the race this many times in a row give up with an error (a store under a storm). */
  private static final int MAX_ATTEMPTS = 50;
  /** Temporary directories older than this were left by crashed runs. */
  private static final Duration STALE = Duration.ofHours(24);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path directory;

  /** What metadata is keyed by: one exact kernel build (GNU build-id) and one tool. */
  public record Key(String buildId, String tool) {
    static Key of(TrainingMetadata m) {
      return new Key(m.getBuildId(), m.getTool());
    }

    @Override
    public String toString() {
      return buildId + "/" + tool;
    }
  }

  /**
   * One version: its number (0: the empty store), its units, and the keys of units it holds in another metadata format
   * than this code's ({@link Metadata#FORMAT_VERSION}): left out, as if never trained, so that a run trains them
   * again; they stay on disk in this version and are not carried into the next.
   */
  public record Version(long number, Map<Key, TrainingMetadata> units, Set<Key> outdated) {
    public Version {
      units = Map.copyOf(units);
      outdated = Set.copyOf(outdated);
    }

    public Version(long number, Map<Key, TrainingMetadata> units) {
      this(number, units, Set.of());
    }

    /** What a user is told when this version of {@code store} has {@link #outdated} units; empty if none. */
    public Optional<String> outdatedNote(Path store) {
      return MetadataStore.outdatedNote(store, number, outdated);
    }

    /** The unit of (build-id, tool), if this version has one. */
    public Optional<TrainingMetadata> get(String buildId, String tool) {
      return Optional.ofNullable(units.get(new Key(buildId, tool)));
    }
  }

  /**
   * What a version holds, read from its manifest alone: the keys of its units in this code's format, and of those in
   * another ({@link Version#outdated}). Enough to plan a job; its workers then {@link #read(long, Predicate)} the
   * units they need, so that no process loads every build of a store that has many.
   */
  public record Index(long number, Set<Key> units, Set<Key> outdated) {
    public Index {
      units = Set.copyOf(units);
      outdated = Set.copyOf(outdated);
    }

    /** What a user is told when this version of {@code store} has {@link #outdated} units; empty if none. */
    public Optional<String> outdatedNote(Path store) {
      return MetadataStore.outdatedNote(store, number, outdated);
    }
  }

  private static Optional<String> outdatedNote(Path store, long number, Set<Key> outdated) {
    if (outdated.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(String.format("metadata store %s, version %d: %d unit(s) of an older metadata format than "
        + "this code's (%d) are left out, as if never trained (auto and scans train them again): %s", store, number,
        outdated.size(), Metadata.FORMAT_VERSION, outdated.stream().map(Key::toString).sorted().limit(5)
            .collect(Collectors.joining(", ", "", outdated.size() > 5 ? ", ..." : ""))));
  }

  /** A unit as its version's manifest lists it. */
  private record Listed(Key key, String kernelBuild, int format, int entries, String file) {}

  private MetadataStore(Path directory) {
    this.directory = directory;
  }

  /** The store in {@code directory}, created empty if it does not exist. */
  public static MetadataStore open(Path directory) throws MetadataException {
    try {
      Files.createDirectories(directory);
    } catch (IOException e) {
      throw new MetadataException("metadata store " + directory + ": cannot create it: " + e.getMessage(), e);
    }
    return new MetadataStore(directory.toAbsolutePath());
  }

  public Path directory() {
    return directory;
  }

  /** The newest version (number 0, no units, for an empty store). */
  public Version latest() throws MetadataException {
    long n = latestNumber();
    return n == 0 ? new Version(0, Map.of()) : read(n);
  }

  /** Version {@code number}. */
  public Version read(long number) throws MetadataException {
    return read(number, key -> true);
  }

  /** Version {@code number} with only the units {@code which} accepts (its other keys are in {@link #index}). */
  public Version read(long number, Predicate<Key> which) throws MetadataException {
    return read(number, listed(number), which);
  }

  /** Version {@code number}, whose manifest lists {@code listed}, with only the units {@code which} accepts. */
  private Version read(long number, List<Listed> listed, Predicate<Key> which) throws MetadataException {
    Path dir = versionDirectory(number);
    Map<Key, TrainingMetadata> units = new HashMap<>();
    Set<Key> outdated = new HashSet<>();
    for (Listed unit : listed) {
      if (unit.format() != Metadata.FORMAT_VERSION) {
        outdated.add(unit.key());
      } else if (which.test(unit.key())) {
        TrainingMetadata m = MetadataFiles.read(dir.resolve(unit.file()));
        if (!Key.of(m).equals(unit.key())) {
          throw new MetadataException(dir + ": " + unit.file() + " holds " + Key.of(m) + ", not " + unit.key());
        }
        units.put(unit.key(), m);
      }
    }
    return new Version(number, units, outdated);
  }

  /** The newest version's {@link Index} (number 0, no units, for an empty store). */
  public Index latestIndex() throws MetadataException {
    long n = latestNumber();
    Set<Key> units = new HashSet<>();
    Set<Key> outdated = new HashSet<>();
    for (Listed unit : n == 0 ? List.<Listed>of() : listed(n)) {
      (unit.format() == Metadata.FORMAT_VERSION ? units : outdated).add(unit.key());
    }
    return new Index(n, units, outdated);
  }

  /** The units version {@code number}'s manifest lists. */
  private List<Listed> listed(long number) throws MetadataException {
    Path dir = versionDirectory(number);
    Path manifest = dir.resolve(MANIFEST);
    if (!Files.isRegularFile(manifest)) {
      throw new MetadataException(dir + ": no " + MANIFEST + " (not a version written by this store)");
    }
    try {
      JsonNode root = JSON.readTree(manifest.toFile());
      if (root.path("version").asLong(-1) != number) {
        throw new MetadataException(manifest + ": says version " + root.path("version") + ", not " + number);
      }
      List<Listed> listed = new ArrayList<>();
      for (JsonNode u : root.path("units")) {
        // versions written before the format field were all format 1
        listed.add(new Listed(new Key(u.path("buildId").asText(), u.path("tool").asText()),
            u.path("kernelBuild").asText(), u.path("format").asInt(1), u.path("entries").asInt(),
            u.path("file").asText()));
      }
      return listed;
    } catch (IOException e) {
      throw new MetadataException(manifest + ": " + e.getMessage(), e);
    }
  }

  /**
   * Writes the version after the latest: its units with each of {@code deltas} merged in ({@link Metadata#merge}).
   * Deltas are what a run learnt (slow-path runs, possibly several of one unit), not yet merged with the store. When
   * another run commits first, they are merged into that run's version instead, so no run's learning is lost. Only
   * the units the deltas change are read; the others are linked from the latest version. Returns the version written
   * with the units it wrote (every other unit is in the store); when {@code deltas} is empty, nothing is written and
   * the latest version's number comes back with no units.
   *
   * @throws MetadataException a delta that cannot be merged (another format, another context
   *     function), or the store cannot be written
   */
  public Version commit(Collection<TrainingMetadata> deltas) throws MetadataException {
    Map<Key, TrainingMetadata> learnt = new LinkedHashMap<>();
    for (TrainingMetadata d : deltas) {
      checkNames(d);
      TrainingMetadata earlier = learnt.get(Key.of(d));
      learnt.put(Key.of(d), earlier == null ? d : Metadata.merge(earlier, d));
    }
    if (learnt.isEmpty()) {
      return new Version(latestNumber(), Map.of());
    }
    removeStaleTemporaries();
    for (int attempt = 1; ; attempt++) {
      long base = latestNumber();
      List<Listed> listed = base == 0 ? List.of() : listed(base);
      // Only the units this commit changes are read: a store that kept many builds is not loaded for one.
      Map<Key, TrainingMetadata> changed = new HashMap<>(base == 0 ? Map.of()
          : read(base, listed, learnt::containsKey).units());
      for (Map.Entry<Key, TrainingMetadata> e : learnt.entrySet()) {
        TrainingMetadata old = changed.get(e.getKey());
        changed.put(e.getKey(), old == null ? e.getValue() : Metadata.merge(old, e.getValue()));
      }
      Version next = new Version(base + 1, changed);
      if (tryWrite(base, listed, next)) {
        return next;
      }
      if (attempt == MAX_ATTEMPTS) {
        throw new MetadataException("metadata store " + directory + ": " + MAX_ATTEMPTS + " commits in a row lost "
            + "the race for the next version number; giving up");
      }
      try {
        Thread.sleep(ThreadLocalRandom.current().nextInt(1, 20 * attempt)); // let the winner's version land
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new MetadataException("interrupted while committing to " + directory, e);
      }
    }
  }

  /**
   * Writes {@code next} in a temporary directory and renames it to its number; false when that number is taken. The
   * version holds {@code next}'s units and every unit of version {@code base} in this code's format that it does not
   * change (a link to that version's file, listed as there).
   */
  private boolean tryWrite(long base, List<Listed> baseUnits, Version next) throws MetadataException {
    Path temp;
    try {
      temp = Files.createTempDirectory(directory, TEMP_PREFIX);
    } catch (IOException e) {
      throw new MetadataException("metadata store " + directory + ": cannot write: " + e.getMessage(), e);
    }
    try {
      ObjectNode manifest = JSON.createObjectNode();
      manifest.put("version", next.number());
      manifest.put("parent", base);
      manifest.put("created", Instant.now().toString());
      Map<Key, Listed> units = new TreeMap<>(Comparator.comparing(Key::toString));
      for (Listed unit : baseUnits) {
        if (unit.format() == Metadata.FORMAT_VERSION) { // units of another format are not carried on
          units.put(unit.key(), unit);
        }
      }
      next.units().forEach((key, unit) -> units.put(key, new Listed(key, unit.getKernelBuild(),
          unit.getFormatVersion(), unit.getEntries().size(), key.buildId() + "/" + key.tool() + ".metadata.avro")));
      ArrayNode list = manifest.putArray("units");
      for (Listed unit : units.values()) {
        Path target = temp.resolve(unit.file());
        Files.createDirectories(target.getParent());
        TrainingMetadata written = next.units().get(unit.key());
        if (written != null) {
          MetadataFiles.write(target, written);
        } else {
          linkOrCopy(versionDirectory(base).resolve(unit.file()), target);
        }
        list.addObject().put("buildId", unit.key().buildId()).put("kernelBuild", unit.kernelBuild())
            .put("tool", unit.key().tool()).put("format", unit.format()).put("entries", unit.entries())
            .put("file", unit.file());
      }
      JSON.writerWithDefaultPrettyPrinter().writeValue(temp.resolve(MANIFEST).toFile(), manifest);
      try {
        Files.move(temp, versionDirectory(next.number()), StandardCopyOption.ATOMIC_MOVE);
        return true;
      } catch (AtomicMoveNotSupportedException e) {
        throw new MetadataException("metadata store " + directory + ": its file system cannot rename atomically", e);
      } catch (FileSystemException e) {
        if (Files.exists(versionDirectory(next.number()))) {
          return false; // another run took this number first
        }
        throw e;
      }
    } catch (IOException e) {
      throw new MetadataException("metadata store " + directory + ": cannot write version " + next.number() + ": "
          + e.getMessage(), e);
    } finally {
      deleteTree(temp);
    }
  }

  /**
   * Removes the versions before the newest {@code keep} that were written more than {@code minAge} ago, and returns
   * their numbers, oldest first. Units they share with a kept version stay (a kept version links them). A version is
   * first renamed out of the store's numbering, so a reader never sees half of one. A scan reads the version it
   * started from on its workers while it runs: {@code minAge} keeps that version as long as the scan can run.
   *
   * @param keep at least 1: the newest version is never removed
   */
  public List<Long> prune(int keep, Duration minAge) throws MetadataException {
    if (keep < 1) {
      throw new IllegalArgumentException("keep at least the newest version, not " + keep);
    }
    Instant before = Instant.now().minus(minAge);
    List<Long> numbers = new ArrayList<>(versionNumbers());
    List<Long> pruned = new ArrayList<>();
    for (long number : numbers.subList(0, Math.max(0, numbers.size() - keep))) {
      Path dir = versionDirectory(number);
      try {
        if (written(dir).isBefore(before)) {
          Path doomed = directory.resolve(TEMP_PREFIX + "pruned-" + dir.getFileName());
          Files.move(dir, doomed, StandardCopyOption.ATOMIC_MOVE);
          deleteTree(doomed);
          pruned.add(number);
        }
      } catch (IOException e) {
        throw new MetadataException("metadata store " + directory + ": cannot remove version " + number + ": "
            + e.getMessage(), e);
      }
    }
    return List.copyOf(pruned);
  }

  /** When a version was written: its manifest's time, else its directory's. */
  private static Instant written(Path dir) throws IOException {
    try {
      return Instant.parse(JSON.readTree(dir.resolve(MANIFEST).toFile()).path("created").asText());
    } catch (IOException | DateTimeParseException e) {
      return Files.getLastModifiedTime(dir).toInstant();
    }
  }

  private static void linkOrCopy(Path existing, Path link) throws IOException {
    try {
      Files.createLink(link, existing); // versions are immutable: sharing the file is safe
    } catch (UnsupportedOperationException | IOException e) {
      Files.copy(existing, link);
    }
  }

  private long latestNumber() throws MetadataException {
    List<Long> numbers = versionNumbers();
    return numbers.isEmpty() ? 0 : numbers.get(numbers.size() - 1);
  }

  /** The numbers of the store's versions, in order. */
  public List<Long> versionNumbers() throws MetadataException {
    try (Stream<Path> children = Files.list(directory)) {
      return children.map(p -> VERSION.matcher(p.getFileName().toString()))
          .filter(Matcher::matches).map(m -> Long.parseLong(m.group(1))).sorted().toList();
    } catch (IOException e) {
      throw new MetadataException("metadata store " + directory + ": cannot list it: " + e.getMessage(), e);
    }
  }

  private Path versionDirectory(long number) {
    return directory.resolve(String.format("v%06d", number));
  }

  /** Build-ids and tool names become path components: only plain names. */
  private static void checkNames(TrainingMetadata m) throws MetadataException {
    if (!SAFE_NAME.matcher(m.getBuildId()).matches() || !SAFE_NAME.matcher(m.getTool()).matches()) {
      throw new MetadataException("metadata of build-id '" + m.getBuildId() + "', tool '" + m.getTool()
          + "': not names the store can file");
    }
  }

  /** Temporary directories of runs that crashed (a day old): never read, removed so they do not pile up. */
  private void removeStaleTemporaries() {
    FileTime before = FileTime.from(Instant.now().minus(STALE));
    try (Stream<Path> children = Files.list(directory)) {
      for (Path p : children.filter(p -> p.getFileName().toString().startsWith(TEMP_PREFIX)).toList()) {
        if (Files.getLastModifiedTime(p).compareTo(before) < 0) {
          deleteTree(p);
        }
      }
    } catch (IOException e) {
      // only housekeeping: a temporary directory left behind is harmless
    }
  }

  private static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      // a leftover temporary directory is ignored by readers and removed once stale
    }
  }
}
