package io.hybridbridge.emulator.kernel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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

/**
 * The trusted references of a dataset ({@code manifest.json}: entries with role REFERENCE), looked up by kernel
 * build identity. A reference matches a snapshot when its kernel's banner and build-id are the same; the
 * manifest's build name only narrows the candidates, which are then opened and identified like any snapshot.
 */
public final class ReferenceStore {
  private final Path directory;
  private final List<Reference> references;
  private final Map<Path, Optional<KernelIdentity>> identities = new HashMap<>();

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
    JsonNode root = new ObjectMapper().readTree(manifest.toFile());
    List<Reference> refs = new ArrayList<>();
    for (JsonNode e : root.path("entries")) {
      if (!"REFERENCE".equals(text(e, "role"))) {
        continue;
      }
      String path = text(e, "path");
      if (path == null) {
        throw new IOException(manifest + ": reference entry " + text(e, "id") + " has no path");
      }
      refs.add(new Reference(text(e, "id"), text(e, "kernelBuild"), resolve(directory, path),
          Optional.ofNullable(text(e, "kallsymsPath")).map(p -> resolve(directory, p)),
          Optional.ofNullable(text(e, "groundTruthPath")).map(p -> resolve(directory, p))));
    }
    return new ReferenceStore(directory, refs);
  }

  /** Manifest paths are relative to the manifest's directory. */
  private static Path resolve(Path directory, String path) {
    return directory.resolve(path);
  }

  /** A manifest field as text; Avro's JSON encoding wraps union values as {"string": …}. */
  static String text(JsonNode entry, String field) {
    JsonNode v = entry.get(field);
    if (v != null && v.isObject() && v.size() == 1) {
      v = v.elements().next();
    }
    return v == null || v.isNull() ? null : v.asText();
  }

  public Path directory() {
    return directory;
  }

  public List<Reference> references() {
    return references;
  }

  /** The reference of the same kernel build (banner and build-id), if the dataset has one. */
  public Optional<Reference> find(KernelIdentity identity) {
    for (Reference r : references) {
      if (identity.buildName().equals(r.kernelBuild()) && identity.equals(identityOf(r).orElse(null))) {
        return Optional.of(r);
      }
    }
    return Optional.empty();
  }

  /** Like {@link #find}, but a missing reference is an error naming the build. */
  public Reference require(KernelIdentity identity) throws ReferenceNotFoundException {
    return find(identity).orElseThrow(() -> new ReferenceNotFoundException(identity, directory));
  }

  /** The identity of a reference's own kernel (opened once per store; empty when it cannot be read). */
  public synchronized Optional<KernelIdentity> identityOf(Reference reference) {
    return identities.computeIfAbsent(reference.snapshot(), path -> {
      try (Snapshot s = Snapshots.open(path)) {
        return Optional.of(GuestKernel.locate(s).identity());
      } catch (IOException | SnapshotFormatException | KernelAnalysisException e) {
        return Optional.empty();
      }
    });
  }
}
