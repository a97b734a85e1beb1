package io.hybridbridge.pipeline;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.WritableByteChannel;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.VarIntCoder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.io.FileIO;
import org.apache.beam.sdk.io.parquet.ParquetIO;
import org.apache.beam.sdk.transforms.Contextful;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.Flatten;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.SerializableFunction;
import org.apache.beam.sdk.transforms.Values;
import org.apache.beam.sdk.transforms.Wait;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;

/**
 * The output stage of a scan: writes each table of a {@link PCollectionTuple} as Parquet under
 * {@code <output>/scan_date=YYYY-MM-DD/<table>/part-*.parquet} and commits the tables only when every one of them
 * has been written, so that an analytics engine never sees half a scan.
 *
 * <p>The tag id of each input is the table's name; its elements are Avro records (the generated classes of
 * {@code io.hybridbridge.schemas}, or generic records with an {@link AvroCoder}), whose schema becomes the Parquet
 * schema. Tables are first written under {@code <output>/_temporary/<run>/}, invisible to readers of
 * {@code scan_date=*}; one final step, which waits for all writes, renames each table directory into place (an
 * atomic rename per table; a table already there for the same date is replaced whole) and removes the run's
 * temporary directory. A run that fails before that step leaves the partition as it was. An empty table is
 * committed as one Parquet file with no rows, so that readers still find the table and its columns. The output
 * is the list of committed table directories.
 *
 * <p>The output must be a local or shared POSIX directory (directory renames are what make the commit atomic):
 * a cluster's workers must all see it at the same path.
 */
public final class ParquetTables extends PTransform<PCollectionTuple, PCollection<String>> {
  private static final Pattern TABLE_NAME = Pattern.compile("[a-z][a-z0-9_]*");
  static final String STAGING_DIR = "_temporary";

  private final Path outputDir;
  private final LocalDate scanDate;
  private final List<PCollection<?>> alsoWaitFor;

  private ParquetTables(Path outputDir, LocalDate scanDate, List<PCollection<?>> alsoWaitFor) {
    this.outputDir = outputDir;
    this.scanDate = scanDate;
    this.alsoWaitFor = alsoWaitFor;
  }

  /** Tables of one scan, written under {@code outputDir} (a local path, made absolute here) for {@code scanDate}. */
  public static ParquetTables write(String outputDir, LocalDate scanDate) {
    if (outputDir.contains("://")) {
      throw new IllegalArgumentException(
          "Parquet tables need a POSIX directory for their atomic commit, not " + outputDir);
    }
    return new ParquetTables(Path.of(outputDir).toAbsolutePath().normalize(), scanDate, List.of());
  }

  /**
   * The same tables, committed only once {@code signals} (other outputs of the job, such as a metadata store
   * written beside the tables) are complete too: a failure there then leaves the tables uncommitted as well.
   */
  public ParquetTables waitingFor(PCollection<?>... signals) {
    List<PCollection<?>> all = new ArrayList<>(alsoWaitFor);
    all.addAll(List.of(signals));
    return new ParquetTables(outputDir, scanDate, List.copyOf(all));
  }

  /** The directory that holds {@code table} of {@code scanDate} under {@code outputDir}, once committed. */
  public static Path tableDir(Path outputDir, LocalDate scanDate, String table) {
    return outputDir.resolve("scan_date=" + scanDate).resolve(table);
  }

  @Override
  public PCollection<String> expand(PCollectionTuple tables) {
    if (tables.getAll().isEmpty()) {
      throw new IllegalArgumentException("no tables to write");
    }
    Path runDir = outputDir.resolve(STAGING_DIR).resolve(UUID.randomUUID().toString());
    Map<String, String> schemas = new LinkedHashMap<>();
    List<PCollection<?>> written = new ArrayList<>(alsoWaitFor);
    for (Map.Entry<TupleTag<?>, PCollection<?>> table : tables.getAll().entrySet()) {
      String name = table.getKey().getId();
      if (!TABLE_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("table name must match " + TABLE_NAME + ": " + name);
      }
      Schema schema = avroSchema(name, table.getValue());
      schemas.put(name, schema.toString());
      written.add(writeTable(name, table.getValue(), schema, runDir));
    }
    return tables.getPipeline()
        .apply("Commit signal", Create.of(runDir.toString()))
        .apply("Wait for all tables", Wait.on(written))
        .apply("Commit tables", ParDo.of(new CommitFn(outputDir.toString(), scanDate, schemas)));
  }

  /**
   * Buckets a table's rows are regrouped into before it is written, the rows of one bundle into one bucket. The
   * Direct runner writes a table by grouping its rows under a few shard keys, and copies a key's whole bag of rows
   * again for every bundle that reaches it. After the inspections' per-snapshot bundles, those copies grew with
   * the square of the fleet (docs/PERFORMANCE.md). The regrouping's own copies are a bucket's share, and the write
   * then gets one bundle per bucket: with N bundles of R rows in all, about N·R/(2·B) + B·R/2 copies instead of
   * N·R/2.
   */
  static final int WRITE_BUCKETS = 32;

  /** Writes one table into the run's staging directory; the result is complete when its files are final. */
  private static <T> PCollection<?> writeTable(String name, PCollection<T> rows, Schema schema, Path runDir) {
    SerializableFunction<T, GenericRecord> asRecord = row -> (GenericRecord) row;
    return rows
        .apply("Bucket " + name, ParDo.of(new BundleBucketFn<T>()))
        .setCoder(KvCoder.of(VarIntCoder.of(), rows.getCoder()))
        .apply("Regroup " + name, GroupByKey.create())
        .apply("Rows of " + name, Values.create())
        .apply("Flatten " + name, Flatten.iterables())
        .setCoder(rows.getCoder())
        .apply("Write " + name, FileIO.<T>write()
            .via(Contextful.fn(asRecord), ParquetIO.sink(schema))
            .to(runDir.resolve(name).toString())
            .withTempDirectory(runDir.resolve("_beam").resolve(name).toString())
            .withPrefix("part")
            .withSuffix(".parquet"))
        .getPerDestinationOutputFilenames();
  }

  /** Keys every row of a bundle with the same bucket, chosen at random per bundle. */
  static final class BundleBucketFn<T> extends DoFn<T, KV<Integer, T>> {
    private int bucket;

    @StartBundle
    public void startBundle() {
      bucket = ThreadLocalRandom.current().nextInt(WRITE_BUCKETS);
    }

    @ProcessElement
    public void process(@Element T row, OutputReceiver<KV<Integer, T>> out) {
      out.output(KV.of(bucket, row));
    }
  }

  private static Schema avroSchema(String table, PCollection<?> rows) {
    if (rows.getCoder() instanceof RecordCoder<?> records) {
      return records.schema();
    }
    if (rows.getCoder() instanceof AvroCoder<?> avro && GenericRecord.class.isAssignableFrom(avro.getType())) {
      return avro.getSchema();
    }
    Class<?> type = rows.getTypeDescriptor() == null ? Object.class : rows.getTypeDescriptor().getRawType();
    if (SpecificRecord.class.isAssignableFrom(type)) {
      return SpecificData.get().getSchema(type);
    }
    throw new IllegalArgumentException("table " + table + " must hold Avro records (a generated class, or generic"
        + " records with an AvroCoder), not " + type.getName() + " coded by " + rows.getCoder());
  }

  /**
   * Renames every staged table into its partition, then removes the run's staging directory. Safe to retry: the
   * marker file says that staging is complete, after which a table missing from staging has been committed.
   */
  private static final class CommitFn extends DoFn<String, String> {
    private static final String COMMITTING = "_COMMITTING";

    private final String outputDir;
    private final LocalDate scanDate;
    private final Map<String, String> schemas;

    CommitFn(String outputDir, LocalDate scanDate, Map<String, String> schemas) {
      this.outputDir = outputDir;
      this.scanDate = scanDate;
      this.schemas = new LinkedHashMap<>(schemas);
    }

    @ProcessElement
    public void commit(@Element String runDirName, OutputReceiver<String> committed) throws IOException {
      Path runDir = Path.of(runDirName);
      if (Files.isDirectory(runDir) && !Files.exists(runDir.resolve(COMMITTING))) {
        for (Map.Entry<String, String> table : schemas.entrySet()) {
          stageEmptyTableIfNoRows(runDir.resolve(table.getKey()), table.getValue());
        }
        Files.createFile(runDir.resolve(COMMITTING));
      }
      for (String table : schemas.keySet()) {
        Path staged = runDir.resolve(table);
        Path target = tableDir(Path.of(outputDir), scanDate, table);
        if (Files.isDirectory(staged)) {
          Files.createDirectories(target.getParent());
          if (Files.exists(target)) {
            Path replaced = Files.createDirectories(runDir.resolve("_replaced")).resolve(table);
            Files.move(target, replaced, StandardCopyOption.ATOMIC_MOVE);
          }
          Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
        } else if (!Files.isDirectory(target)) {
          throw new IOException("table " + table + " was neither staged at " + staged + " nor committed");
        }
        committed.output(target.toString());
      }
      deleteRecursively(runDir);
      try {
        Files.deleteIfExists(runDir.getParent());
      } catch (DirectoryNotEmptyException e) {
        // another run is staging its tables
      }
    }

    /** FileIO writes no file for an empty input; one file with the schema and no rows keeps the table visible. */
    private static void stageEmptyTableIfNoRows(Path staged, String schema) throws IOException {
      if (Files.isDirectory(staged)) {
        try (Stream<Path> files = Files.list(staged)) {
          if (files.anyMatch(file -> file.getFileName().toString().endsWith(".parquet"))) {
            return;
          }
        }
      }
      Files.createDirectories(staged);
      ParquetIO.Sink sink = ParquetIO.sink(new Schema.Parser().parse(schema));
      try (WritableByteChannel file = Files.newByteChannel(staged.resolve("part-empty.parquet"),
          StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
        sink.open(file);
        sink.flush();
      }
    }

    private static void deleteRecursively(Path dir) throws IOException {
      if (!Files.exists(dir)) {
        return;
      }
      try (Stream<Path> paths = Files.walk(dir)) {
        paths.sorted(Comparator.reverseOrder()).forEach(path -> {
          try {
            Files.delete(path);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
      } catch (UncheckedIOException e) {
        throw e.getCause();
      }
    }
  }
}
