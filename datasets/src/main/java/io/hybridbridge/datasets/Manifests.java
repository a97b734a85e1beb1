package io.hybridbridge.datasets;

import io.hybridbridge.schemas.Manifest;
import io.hybridbridge.schemas.ManifestEntry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.io.JsonEncoder;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;

/**
 * {@code manifest.json}: the Avro {@code Manifest} record in Avro's JSON encoding (read it back with the schema,
 * e.g. {@link #read}). Written atomically (temporary file + rename).
 */
public final class Manifests {
  public static final String FILE_NAME = "manifest.json";

  private Manifests() {}

  /** The manifest of {@code datasetDir}, or an empty one when there is none yet. */
  public static Manifest read(Path datasetDir) throws DatasetException {
    Path file = datasetDir.resolve(FILE_NAME);
    if (!Files.exists(file)) {
      return Manifest.newBuilder().setCreatedMillis(System.currentTimeMillis()).setEntries(new ArrayList<>())
          .build();
    }
    try {
      String json = Files.readString(file);
      return new SpecificDatumReader<>(Manifest.class).read(null,
          DecoderFactory.get().jsonDecoder(Manifest.getClassSchema(), json));
    } catch (IOException | AvroRuntimeException e) {
      throw new DatasetException("cannot read " + file + " (" + e.getMessage() + "); move it away to rebuild", e);
    }
  }

  static byte[] toJson(Manifest manifest) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    JsonEncoder encoder = EncoderFactory.get().jsonEncoder(Manifest.getClassSchema(), out, true);
    new SpecificDatumWriter<>(Manifest.class).write(manifest, encoder);
    encoder.flush();
    out.write('\n');
    return out.toByteArray();
  }

  /**
   * Replaces the entries of {@code kernelBuild} with {@code entries}, keeps every other build's, and writes the
   * result atomically.
   */
  static Manifest replaceBuild(Path datasetDir, String kernelBuild, List<ManifestEntry> entries)
      throws DatasetException {
    Manifest current = read(datasetDir);
    Map<String, ManifestEntry> byId = new LinkedHashMap<>();
    for (ManifestEntry e : current.getEntries()) {
      if (!e.getKernelBuild().equals(kernelBuild)) {
        byId.put(e.getId(), e);
      }
    }
    for (ManifestEntry e : entries) {
      byId.put(e.getId(), e);
    }
    List<ManifestEntry> merged = new ArrayList<>(byId.values());
    merged.sort(Comparator.comparing(ManifestEntry::getKernelBuild).thenComparing(ManifestEntry::getId,
        Manifests::naturalOrder));
    Manifest manifest = Manifest.newBuilder().setCreatedMillis(current.getCreatedMillis()).setEntries(merged)
        .build();
    try {
      FileTrees.writeAtomically(datasetDir.resolve(FILE_NAME), toJson(manifest));
    } catch (IOException e) {
      throw new DatasetException("cannot write " + datasetDir.resolve(FILE_NAME) + ": " + e.getMessage(), e);
    }
    return manifest;
  }

  /** "boot2/dump10" after "boot2/dump9": numbers inside ids compare as numbers. */
  static int naturalOrder(String a, String b) {
    String[] pa = a.split("(?<=\\D)(?=\\d)|(?<=\\d)(?=\\D)");
    String[] pb = b.split("(?<=\\D)(?=\\d)|(?<=\\d)(?=\\D)");
    for (int i = 0; i < Math.min(pa.length, pb.length); i++) {
      int c = Character.isDigit(pa[i].charAt(0)) && Character.isDigit(pb[i].charAt(0))
          ? Long.compare(Long.parseLong(pa[i]), Long.parseLong(pb[i])) : pa[i].compareTo(pb[i]);
      if (c != 0) {
        return c;
      }
    }
    return Integer.compare(pa.length, pb.length);
  }
}
