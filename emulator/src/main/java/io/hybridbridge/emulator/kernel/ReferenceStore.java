package io.hybridbridge.emulator.kernel;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.SnapshotFormatException;
import io.hybridbridge.emulator.snapshot.Snapshots;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The trusted references of a dataset ({@code manifest.json}: entries with role REFERENCE), looked up by kernel
 * build identity and CPU count. A reference matches a snapshot when its kernel's banner and build-id are the same
 * and it has as many possible CPUs ({@code nr_cpu_ids}) as the snapshot: the kernel's per-CPU loops follow the
 * running kernel's own CPUs, so a build whose VMs come in several sizes needs a reference of each size. The
 * manifest's build name only narrows the candidates, which are then opened and identified like any snapshot.
 */
public final class ReferenceStore {
  private final Path directory;
  private final List<Reference> references;
  /** What each reference's own snapshot says (opened once per store; empty when it cannot be read). */
  private final Map<Path, Optional<Facts>> facts = new HashMap<>();
  private final Map<Path, Profile> profiles = new HashMap<>();

  /** A reference's kernel, and its possible CPUs or why they cannot be read (its symbols or memory). */
  private record Facts(KernelIdentity identity, int possibleCpus, String cpusUnreadable) {}

  /** One reference: its snapshot and the kallsyms captured from its boot. */
  public record Reference(String id, String kernelBuild, Path snapshot, Optional<Path> kallsyms,
      Optional<Path> groundTruth) {
    /** The build's profile from the reference's kallsyms. */
    public Profile profile() throws ProfileException {
      return Profile.fromKallsyms(kallsyms.orElseThrow(() -> new ProfileException(
          "reference " + id + " has no kallsyms in the manifest")));
    }
  }

  private ReferenceStore(Path directory, List<Reference> references) {
    this.directory = directory;
    this.references = List.copyOf(references);
  }

  /**
   * The default dataset: system property {@code hb.dataset}, else env {@code HB_DATASET}, else
   * {@code ${HB_CACHE:-~/.cache/hybrid-bridge}/datasets/default}.
   */
  public static Path defaultDatasetDirectory() {
    String property = System.getProperty("hb.dataset");
    if (property != null && !property.isBlank()) {
      return Path.of(property);
    }
    String env = System.getenv("HB_DATASET");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    String cache = System.getenv("HB_CACHE");
    Path base = cache != null && !cache.isBlank() ? Path.of(cache)
        : Path.of(System.getProperty("user.home"), ".cache", "hybrid-bridge");
    return base.resolve("datasets").resolve("default");
  }

  /** Reads {@code directory/manifest.json}; a missing manifest is an empty store. */
  public static ReferenceStore open(Path directory) throws IOException {
    Path manifest = directory.resolve("manifest.json");
    if (!Files.isRegularFile(manifest)) {
      return new ReferenceStore(directory, List.of());
    }
    List<Reference> refs = new ArrayList<>();
    for (Map<String, String> e : entries(manifest)) {
      if (!"REFERENCE".equals(e.get("role"))) {
        continue;
      }
      String path = e.get("path");
      if (path == null) {
        throw new IOException(manifest + ": reference entry " + e.get("id") + " has no path");
      }
      refs.add(new Reference(e.get("id"), e.get("kernelBuild"), directory.resolve(path),
          Optional.ofNullable(e.get("kallsymsPath")).map(directory::resolve),
          Optional.ofNullable(e.get("groundTruthPath")).map(directory::resolve)));
    }
    return new ReferenceStore(directory, refs);
  }

  /**
   * The scalar fields of each manifest entry (Avro's JSON encoding: a union value is wrapped as {"string": …}; null
   * stays null; maps are skipped). Streaming, because building a tree costs a command-line run ≈0.3 s of start-up.
   */
  private static List<Map<String, String>> entries(Path manifest) throws IOException {
    List<Map<String, String>> entries = new ArrayList<>();
    try (JsonParser p = new JsonFactory().createParser(manifest.toFile())) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException(manifest + ": not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String field = p.getCurrentName();
        JsonToken value = p.nextToken();
        if (!field.equals("entries") || value != JsonToken.START_ARRAY) {
          p.skipChildren();
          continue;
        }
        while (p.nextToken() == JsonToken.START_OBJECT) {
          entries.add(entry(p));
        }
      }
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IOException(manifest + ": malformed JSON: " + e.getOriginalMessage(), e);
    }
    return entries;
  }

  private static Map<String, String> entry(JsonParser p) throws IOException {
    Map<String, String> fields = new HashMap<>();
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      String name = p.getCurrentName();
      JsonToken t = p.nextToken();
      String value = t == JsonToken.START_OBJECT ? unionValue(p)
          : t.isStructStart() ? skip(p) : t == JsonToken.VALUE_NULL ? null : p.getText();
      if (value != null) {
        fields.put(name, value);
      }
    }
    return fields;
  }

  /** Consumes an object; its value when it has one scalar member (an Avro union such as {"string": …}). */
  private static String unionValue(JsonParser p) throws IOException {
    String value = null;
    int members = 0;
    while (p.nextToken() == JsonToken.FIELD_NAME) {
      members++;
      JsonToken t = p.nextToken();
      value = t.isStructStart() ? skip(p) : t == JsonToken.VALUE_NULL ? null : p.getText();
    }
    return members == 1 ? value : null;
  }

  private static String skip(JsonParser p) throws IOException {
    p.skipChildren();
    return null;
  }

  public Path directory() {
    return directory;
  }

  public List<Reference> references() {
    return references;
  }

  /** The references of the same kernel build (banner and build-id), whatever their CPUs. */
  public List<Reference> ofBuild(KernelIdentity identity) {
    return references.stream().filter(r -> identity.buildName().equals(r.kernelBuild())
        && identity.equals(facts(r).map(Facts::identity).orElse(null))).toList();
  }

  /**
   * The reference that can inspect {@code kernel}: of the same build, with as many possible CPUs.
   *
   * @throws ReferenceNotFoundException no reference of the build, or none of the snapshot's CPU count
   * @throws KernelAnalysisException the snapshot's CPU count cannot be read (with the build's symbols)
   */
  public Reference require(GuestKernel kernel) throws ReferenceNotFoundException, KernelAnalysisException {
    KernelIdentity identity = kernel.identity();
    List<Reference> candidates = ofBuild(identity);
    if (candidates.isEmpty()) {
      throw new ReferenceNotFoundException(identity, directory);
    }
    for (Reference r : candidates) {
      String problem = facts(r).orElseThrow().cpusUnreadable();
      if (problem != null) {
        throw new ReferenceNotFoundException(identity, directory, "reference " + r.id() + " is of the build, but "
            + problem);
      }
    }
    int cpus;
    try {
      cpus = kernel.perCpuBases(profile(candidates.get(0))).size(); // the build's symbols, parsed by facts()
    } catch (ProfileException e) {
      throw new IllegalStateException("the profile of " + candidates.get(0).id() + " was read before", e);
    }
    List<Integer> counts = new ArrayList<>();
    for (Reference r : candidates) {
      int referenceCpus = facts(r).orElseThrow().possibleCpus();
      if (referenceCpus == cpus) {
        return r;
      }
      counts.add(referenceCpus);
    }
    throw new ReferenceNotFoundException(identity, directory, String.format("the snapshot has %d possible CPUs "
        + "(nr_cpu_ids) and the references of its build have %s: the kernel's per-CPU loops follow the running "
        + "kernel's CPUs, so it needs a reference of its build booted with %d (hb datasets build --smp)", cpus,
        counts.stream().sorted().map(String::valueOf).collect(Collectors.joining(", ")), cpus));
  }

  /** The identity of a reference's own kernel (opened once per store; empty when it cannot be read). */
  public Optional<KernelIdentity> identityOf(Reference reference) {
    return facts(reference).map(Facts::identity);
  }

  /** The build's profile from the reference's kallsyms, parsed once per store. */
  public Profile profile(Reference reference) throws ProfileException {
    synchronized (profiles) {
      Profile profile = profiles.get(reference.snapshot());
      if (profile == null) {
        profile = reference.profile();
        profiles.put(reference.snapshot(), profile);
      }
      return profile;
    }
  }

  private synchronized Optional<Facts> facts(Reference reference) {
    Optional<Facts> known = facts.get(reference.snapshot());
    if (known == null) {
      try (Snapshot s = Snapshots.open(reference.snapshot())) {
        GuestKernel kernel = GuestKernel.locate(s);
        try {
          known = Optional.of(new Facts(kernel.identity(), kernel.perCpuBases(profile(reference)).size(), null));
        } catch (KernelAnalysisException | ProfileException e) {
          known = Optional.of(new Facts(kernel.identity(), 0, "its CPU count cannot be read: " + e.getMessage()));
        }
      } catch (IOException | SnapshotFormatException | KernelAnalysisException e) {
        known = Optional.empty();
      }
      facts.put(reference.snapshot(), known);
    }
    return known;
  }
}
