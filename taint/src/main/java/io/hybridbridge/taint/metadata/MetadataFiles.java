package io.hybridbridge.taint.metadata;

import io.hybridbridge.schemas.TrainingMetadata;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import org.apache.avro.AvroRuntimeException;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;

/** Training metadata as an Avro container file holding one {@link TrainingMetadata} record. */
public final class MetadataFiles {
  private MetadataFiles() {}

  /** Writes {@code metadata} to {@code file} atomically (a temporary file in the same directory, then a rename). */
  public static void write(Path file, TrainingMetadata metadata) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path temp = Files.createTempFile(dir, file.getFileName().toString(), ".tmp");
    try {
      if (temp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
        Files.setPosixFilePermissions(temp, PosixFilePermissions.fromString("rw-r--r--")); // not the temp file's 0600
      }
      try (DataFileWriter<TrainingMetadata> writer =
          new DataFileWriter<>(new SpecificDatumWriter<>(TrainingMetadata.class))) {
        writer.setCodec(org.apache.avro.file.CodecFactory.deflateCodec(6));
        writer.create(TrainingMetadata.getClassSchema(), temp.toFile());
        writer.append(metadata);
      }
      try {
        Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(temp);
    }
  }

  /** Reads the one record of {@code file}, checking it is metadata this code understands. */
  public static TrainingMetadata read(Path file) throws MetadataException {
    try (DataFileReader<TrainingMetadata> reader =
        new DataFileReader<>(file.toFile(), new SpecificDatumReader<>(TrainingMetadata.class))) {
      if (!reader.hasNext()) {
        throw new MetadataException(file + ": holds no metadata record");
      }
      TrainingMetadata m = reader.next();
      if (reader.hasNext()) {
        throw new MetadataException(file + ": holds more than one metadata record");
      }
      if (m.getFormatVersion() != Metadata.FORMAT_VERSION) {
        throw new MetadataException(file + ": format version " + m.getFormatVersion() + ", this code reads "
            + Metadata.FORMAT_VERSION);
      }
      return m;
    } catch (IOException | AvroRuntimeException e) {
      throw new MetadataException(file + ": not a training metadata file: " + e.getMessage(), e);
    }
  }
}
