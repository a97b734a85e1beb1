package io.hybridbridge.pipeline;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.datasets.DatasetException;
import io.hybridbridge.datasets.Manifests;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.ScanTarget;
import io.hybridbridge.schemas.SnapshotRole;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.file.DataFileStream;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;
import org.apache.beam.sdk.io.fs.ResourceId;

/**
 * The snapshots a scan inspects, listed by the launcher before the job starts (so that progress knows the total).
 * Three sources:
 * <ul>
 *   <li>a dataset's {@code manifest.json} (the datasets module's; give the dataset directory or the file): its
 *       SNAPSHOT entries, with their ids, VM ids and labels (REFERENCE entries are the trusted side, not scanned);
 *   <li>a user-written snapshot list: a JSON array of objects {@code {"path": …, "id": …, "vmId": …, "labels":
 *       {…}}} ({@code path} required; {@code id} defaults to the path as written) or an Avro data file
 *       ({@code .avro}) of {@code ScanTarget} records;
 *   <li>a glob of Beam's {@link FileSystems} ({@code /data/*.elf}, {@code gs://bucket/snaps/*}); ids are the matched
 *       paths; {@code *.cpu.json} sidecars of raw images are not snapshots.
 * </ul>
 * Relative paths resolve against the list's directory; ids must be unique.
 */
public final class ScanTargets {
  private static final Set<String> LIST_KEYS = Set.of("path", "id", "vmId", "labels");

  private ScanTargets() {}

  /** The snapshots of a dataset directory, its {@code manifest.json}, or a user-written list. */
  public static List<ScanTarget> fromManifest(Path manifest) throws ScanInputException {
    Path file = Files.isDirectory(manifest) ? manifest.resolve(Manifests.FILE_NAME) : manifest;
    if (!Files.isRegularFile(file)) {
      throw new ScanInputException("no manifest at " + file);
    }
    Path base = file.toAbsolutePath().getParent();
    if (file.getFileName().toString().endsWith(".avro")) {
      return checked(file, fromAvro(file, base));
    }
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(file.toFile());
    } catch (JsonProcessingException e) {
      throw new ScanInputException(file + ": malformed JSON: " + e.getOriginalMessage(), e);
    } catch (IOException e) {
      throw new ScanInputException(file + ": " + e.getMessage(), e);
    }
    if (root != null && root.isArray()) {
      return checked(file, fromJsonList(file, root, base));
    }
    if (root != null && root.isObject() && root.has("entries")) {
      if (!file.getFileName().toString().equals(Manifests.FILE_NAME)) {
        throw new ScanInputException(file + " is a dataset manifest; give its dataset directory (it must be named "
            + Manifests.FILE_NAME + " there)");
      }
      return checked(file, fromDataset(base));
    }
    throw new ScanInputException(file + ": neither a dataset manifest (an object with \"entries\") nor a snapshot"
        + " list (a JSON array of {\"path\": …, \"id\": …, \"vmId\": …, \"labels\": {…}})");
  }

  /** Every file {@code glob} matches, in path order. */
  public static List<ScanTarget> fromGlob(String glob) throws ScanInputException {
    MatchResult match;
    List<MatchResult.Metadata> files;
    try {
      match = FileSystems.match(glob);
      files = match.status() == MatchResult.Status.OK ? match.metadata() : List.of();
    } catch (IOException | IllegalArgumentException e) {
      throw new ScanInputException("cannot match " + glob + ": " + e.getMessage(), e);
    }
    List<ScanTarget> targets = new ArrayList<>();
    for (MatchResult.Metadata file : files) {
      ResourceId resource = file.resourceId();
      if (resource.isDirectory() || resource.toString().endsWith(".cpu.json")) {
        continue;
      }
      String location = resource.toString();
      targets.add(ScanTarget.newBuilder().setId(location).setPath(location).build());
    }
    if (targets.isEmpty()) {
      throw new ScanInputException("no snapshot file matches " + glob
          + (match.status() == MatchResult.Status.OK ? "" : " (" + match.status() + ")"));
    }
    targets.sort(Comparator.comparing(ScanTarget::getId));
    return targets;
  }

  private static List<ScanTarget> fromDataset(Path datasetDir) throws ScanInputException {
    List<ScanTarget> targets = new ArrayList<>();
    try {
      for (ManifestEntry entry : Manifests.read(datasetDir).getEntries()) {
        if (entry.getRole() == SnapshotRole.SNAPSHOT) {
          targets.add(ScanTarget.newBuilder().setId(entry.getId())
              .setPath(SnapshotFiles.resolve(datasetDir, entry.getPath()))
              .setVmId(entry.getVmId()).setLabels(new LinkedHashMap<>(entry.getLabels())).build());
        }
      }
    } catch (DatasetException e) {
      throw new ScanInputException(e.getMessage(), e);
    }
    return targets;
  }

  private static List<ScanTarget> fromJsonList(Path file, JsonNode list, Path base) throws ScanInputException {
    List<ScanTarget> targets = new ArrayList<>();
    for (int i = 0; i < list.size(); i++) {
      JsonNode item = list.get(i);
      String where = file + " item " + i;
      if (!item.isObject()) {
        throw new ScanInputException(where + ": not an object");
      }
      for (Iterator<String> keys = item.fieldNames(); keys.hasNext(); ) {
        String key = keys.next();
        if (!LIST_KEYS.contains(key)) {
          throw new ScanInputException(where + ": unknown key \"" + key + "\" (known: path, id, vmId, labels)");
        }
      }
      String path = text(item, "path", where);
      if (path == null || path.isBlank()) {
        throw new ScanInputException(where + ": no \"path\"");
      }
      String id = text(item, "id", where);
      Map<String, String> labels = new LinkedHashMap<>();
      JsonNode labelNode = item.path("labels");
      if (!labelNode.isMissingNode() && !labelNode.isNull()) {
        if (!labelNode.isObject()) {
          throw new ScanInputException(where + ": \"labels\" must be an object of strings");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = labelNode.fields(); it.hasNext(); ) {
          Map.Entry<String, JsonNode> label = it.next();
          if (!label.getValue().isValueNode() || label.getValue().isNull()) {
            throw new ScanInputException(where + ": label \"" + label.getKey() + "\" must be a string");
          }
          labels.put(label.getKey(), label.getValue().asText());
        }
      }
      targets.add(ScanTarget.newBuilder().setId(id == null ? path : id).setPath(SnapshotFiles.resolve(base, path))
          .setVmId(text(item, "vmId", where)).setLabels(labels).build());
    }
    return targets;
  }

  private static String text(JsonNode item, String key, String where) throws ScanInputException {
    JsonNode value = item.get(key);
    if (value == null || value.isNull()) {
      return null;
    }
    if (!value.isTextual()) {
      throw new ScanInputException(where + ": \"" + key + "\" must be a string");
    }
    return value.asText();
  }

  private static List<ScanTarget> fromAvro(Path file, Path base) throws ScanInputException {
    List<ScanTarget> targets = new ArrayList<>();
    try (InputStream in = Files.newInputStream(file);
        DataFileStream<ScanTarget> records = new DataFileStream<>(in, new SpecificDatumReader<>(ScanTarget.class))) {
      for (ScanTarget target : records) {
        target.setPath(SnapshotFiles.resolve(base, target.getPath()));
        targets.add(target);
      }
    } catch (IOException | AvroRuntimeException e) {
      throw new ScanInputException(file + ": not an Avro data file of ScanTarget records: " + e.getMessage(), e);
    }
    return targets;
  }

  private static List<ScanTarget> checked(Path file, List<ScanTarget> targets) throws ScanInputException {
    if (targets.isEmpty()) {
      throw new ScanInputException(file + " lists no snapshot");
    }
    Set<String> ids = new HashSet<>();
    for (ScanTarget target : targets) {
      if (!ids.add(target.getId())) {
        throw new ScanInputException(file + ": snapshot id \"" + target.getId() + "\" is listed twice; give each"
            + " entry its own \"id\" (for example per VM)");
      }
    }
    return targets;
  }
}
