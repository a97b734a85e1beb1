package io.hybridbridge.pipeline;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.apache.avro.generic.GenericRecord;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;

/**
 * What the committed tables of one scan date already hold: the snapshot entries done, the kernel builds they ran and
 * the tools. A scan in several jobs, or one resumed after a failure, reads it before each job: an entry listed in the
 * {@code status} table ({@link ParquetTables#COMMITTED_LAST}) has all its rows committed.
 *
 * @param done snapshot ids with a status row
 * @param builds build-id to kernel build name, of the snapshots table
 * @param tools the tools the status rows name (none for a scan that identified only, or whose snapshots all failed
 *     before any tool)
 */
public record CommittedScan(Set<String> done, Map<String, String> builds, Set<String> tools) {
  /** Nothing committed. */
  public static final CommittedScan NONE = new CommittedScan(Set.of(), Map.of(), Set.of());

  /** The committed tables of {@code date} under {@code out}; {@link #NONE} when there are none. */
  public static CommittedScan read(Path out, LocalDate date) throws IOException {
    Set<String> done = new TreeSet<>();
    Set<String> tools = new TreeSet<>();
    forEachRow(ParquetTables.tableDir(out, date, Scan.STATUS), row -> {
      done.add(row.get("snapshot_id").toString());
      if (row.get("tool") != null) {
        tools.add(row.get("tool").toString());
      }
    });
    Map<String, String> builds = new LinkedHashMap<>();
    forEachRow(ParquetTables.tableDir(out, date, Scan.SNAPSHOTS), row -> builds.put(row.get("build_id").toString(),
        row.get("kernel_build").toString()));
    return new CommittedScan(Set.copyOf(done), Map.copyOf(builds), Set.copyOf(tools));
  }

  /** Every row of the committed table in {@code tableDir} (none when it does not exist), as Avro records. */
  public static void forEachRow(Path tableDir, Consumer<GenericRecord> action) throws IOException {
    if (!Files.isDirectory(tableDir)) {
      return;
    }
    List<Path> files;
    try (Stream<Path> list = Files.list(tableDir)) {
      files = list.filter(p -> p.getFileName().toString().endsWith(".parquet")).sorted().toList();
    }
    Configuration conf = new Configuration();
    for (Path file : files) {
      try (ParquetReader<GenericRecord> reader = AvroParquetReader.<GenericRecord>builder(
          HadoopInputFile.fromPath(new org.apache.hadoop.fs.Path(file.toUri()), conf)).build()) {
        for (GenericRecord row = reader.read(); row != null; row = reader.read()) {
          action.accept(row);
        }
      } catch (IOException | RuntimeException e) {
        throw new IOException("cannot read " + file + ": " + e.getMessage(), e);
      }
    }
  }
}
