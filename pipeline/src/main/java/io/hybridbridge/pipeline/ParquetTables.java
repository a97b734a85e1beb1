package io.hybridbridge.pipeline;

import io.hybridbridge.datasets.FileTrees;
import java.io.IOException;
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
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.Wait;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionList;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
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
 * <p>{@link #appending} adds a run's rows to the tables already there instead (a scan made of several jobs, or one
 * resumed): each of the run's files is renamed into its table under a name of its own, an atomic rename per file.
 * The table named {@link #COMMITTED_LAST} is committed after every other, in both modes, so that a run whose rows
 * are in it has committed all its tables.
 *
 * <p>The output must be a local or shared POSIX directory (directory renames are what make the commit atomic):
 * a cluster's workers must all see it at the same path.
 */
public final class ParquetTables extends PTransform<PCollectionTuple, PCollection<String>> {
  private static final Pattern TABLE_NAME = Pattern.compile("[a-z][a-z0-9_]*");
  static final String STAGING_DIR = "_temporary";

  /**
   * The table committed after every other ({@link #appending}): a resumed scan takes a snapshot listed in it as done,
   * which it is only if every table has its rows.
   */
  public static final String COMMITTED_LAST = "status";

  private final Path outputDir;
  private final LocalDate scanDate;
  private final List<PCollection<?>> alsoWaitFor;
  /** Whether the run's rows are added to the tables already there (except {@link #replaced}), or replace them. */
  private final boolean append;
  private final Set<String> replaced;

  private ParquetTables(Path outputDir, LocalDate scanDate, List<PCollection<?>> alsoWaitFor, boolean append,
      Set<String> replaced) {
    this.outputDir = outputDir;
    this.scanDate = scanDate;
    this.alsoWaitFor = alsoWaitFor;
    this.append = append;
    this.replaced = replaced;
  }

  /** Tables of one scan, written under {@code outputDir} (a local path, made absolute here) for {@code scanDate}. */
  public static ParquetTables write(String outputDir, LocalDate scanDate) {
    if (outputDir.contains("://")) {
      throw new IllegalArgumentException(
          "Parquet tables need a POSIX directory for their atomic commit, not " + outputDir);
    }
    return new ParquetTables(Path.of(outputDir).toAbsolutePath().normalize(), scanDate, List.of(), false, Set.of());
  }

  /**
   * The same tables, whose rows are added to those already committed for the date, except the tables named in
   * {@code replacedWhole}, which are replaced as by {@link #write}.
   */
  public ParquetTables appending(Set<String> replacedWhole) {
    return new ParquetTables(outputDir, scanDate, alsoWaitFor, true, Set.copyOf(replacedWhole));
  }

  /**
   * The same tables, committed only once {@code signals} (other outputs of the job, such as a metadata store
   * written beside the tables) are complete too: a failure there then leaves the tables uncommitted as well.
   */
  public ParquetTables waitingFor(PCollection<?>... signals) {
    List<PCollection<?>> all = new ArrayList<>(alsoWaitFor);
    all.addAll(List.of(signals));
    return new ParquetTables(outputDir, scanDate, List.copyOf(all), append, replaced);
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
    Path runDir = outputDir.resolve(STAGING_DIR).resolve(runName(scanDate));
    Map<String, String> schemas = new LinkedHashMap<>();
    List<PCollection<?>> written = new ArrayList<>(alsoWaitFor);
    PCollectionList<String> stagedFiles = PCollectionList.empty(tables.getPipeline());
    List<Map.Entry<TupleTag<?>, PCollection<?>>> inCommitOrder = new ArrayList<>(tables.getAll().entrySet());
    inCommitOrder.sort(Comparator.comparing(table -> table.getKey().getId().equals(COMMITTED_LAST)));
    for (Map.Entry<TupleTag<?>, PCollection<?>> table : inCommitOrder) {
      String name = table.getKey().getId();
      if (!TABLE_NAME.matcher(name).matches()) {
        throw new IllegalArgumentException("table name must match " + TABLE_NAME + ": " + name);
      }
      Schema schema = avroSchema(name, table.getValue());
      schemas.put(name, schema.toString());
      PCollection<String> files = writeTable(name, table.getValue(), schema, runDir);
      written.add(files);
      stagedFiles = stagedFiles.and(files);
    }
    PCollectionView<List<String>> staged = stagedFiles.apply("All staged files", Flatten.pCollections())
        .apply("Staged files", View.asList());
    return tables.getPipeline()
        .apply("Commit signal", Create.of(runDir.toString()))
        .apply("Wait for all tables", Wait.on(written))
        .apply("Commit tables", ParDo.of(new CommitFn(outputDir.toString(), scanDate, schemas,
            append ? appendedTables(schemas.keySet()) : Set.of(), staged)).withSideInputs(staged));
  }

  /**
   * The name of a run's staging directory: its scan date, a dot, a random UUID. The date lets a resumed scan end the
   * interrupted runs of its own date only, and leave those of another date, which may still be writing.
   */
  static String runName(LocalDate scanDate) {
    return scanDate + "." + UUID.randomUUID();
  }

  private Set<String> appendedTables(Set<String> tables) {
    Set<String> appended = new LinkedHashSet<>(tables);
    appended.removeAll(replaced);
    return appended;
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

  /** Writes one table into the run's staging directory; the result, its files, is complete when they are final. */
  private static <T> PCollection<String> writeTable(String name, PCollection<T> rows, Schema schema, Path runDir) {
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
        .getPerDestinationOutputFilenames()
        .apply("Files of " + name, Values.create());
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

  /** A run found in the staging directory, and whether its tables were committed or dropped. */
  public record InterruptedRun(String run, boolean committed) {}

  /**
   * Ends the runs of {@code scanDate} under {@code outputDir} that stopped without ending (the job failed, or its JVM
   * died): a run that stopped while it renamed its tables into place has its commit finished, as it meant, so that
   * all its tables are committed; a run that had not finished writing its tables is removed (none of its rows were
   * committed). Runs of other dates are left as they are: they may be writing now. Not while a run of the same date
   * is writing to the same directory: it would be taken for an interrupted one ({@code hb scan} holds a lock per
   * output and date for that).
   */
  public static List<InterruptedRun> endInterruptedRuns(Path outputDir, LocalDate scanDate) throws IOException {
    Path staging = outputDir.resolve(STAGING_DIR);
    if (!Files.isDirectory(staging)) {
      return List.of();
    }
    List<Path> runs;
    try (Stream<Path> list = Files.list(staging)) {
      runs = list.filter(Files::isDirectory).sorted().toList();
    }
    List<InterruptedRun> ended = new ArrayList<>();
    for (Path run : runs) {
      Path marker = run.resolve(CommitFn.COMMITTING);
      boolean committing = Files.isRegularFile(marker);
      boolean ofDate = run.getFileName().toString().startsWith(scanDate + ".")
          || committing && CommitFn.planDate(marker).equals(scanDate); // a run named before names carried the date
      if (!ofDate) {
        continue;
      }
      if (committing) {
        CommitFn.finish(run, outputDir);
      } else {
        FileTrees.deleteRecursively(run);
      }
      ended.add(new InterruptedRun(run.getFileName().toString(), committing));
    }
    try {
      Files.deleteIfExists(staging);
    } catch (DirectoryNotEmptyException e) {
      // runs of other dates
    }
    return List.copyOf(ended);
  }

  /**
   * Renames every staged table into its partition (or, for an appended table, each of its files into the table), in
   * the order of {@code schemas}, then removes the run's staging directory. Staging ends with a marker file that holds
   * this plan: from then on the commit can be finished by a retry of this step, or by {@link
   * #endInterruptedRuns} in another job, and a table missing from staging has been committed.
   */
  static final class CommitFn extends DoFn<String, String> {
    private static final String COMMITTING = "_COMMITTING";
    private static final String EMPTY_TABLE_FILE = "part-empty.parquet";

    private final String outputDir;
    private final LocalDate scanDate;
    private final Map<String, String> schemas;
    private final Set<String> appended;
    private final PCollectionView<List<String>> stagedFiles;

    CommitFn(String outputDir, LocalDate scanDate, Map<String, String> schemas, Set<String> appended,
        PCollectionView<List<String>> stagedFiles) {
      this.outputDir = outputDir;
      this.scanDate = scanDate;
      this.schemas = new LinkedHashMap<>(schemas);
      this.appended = new LinkedHashSet<>(appended);
      this.stagedFiles = stagedFiles;
    }

    @ProcessElement
    public void commit(@Element String runDirName, OutputReceiver<String> committed, ProcessContext context)
        throws IOException {
      Path runDir = Path.of(runDirName);
      boolean planned = Files.exists(runDir.resolve(COMMITTING));
      if (!planned) {
        requireWritten(Path.of(outputDir), scanDate, appended, runDir, context.sideInput(stagedFiles));
      }
      if (!planned && Files.isDirectory(runDir)) {
        List<String> plan = new ArrayList<>(List.of(scanDate.toString()));
        for (Map.Entry<String, String> table : schemas.entrySet()) {
          stageEmptyTableIfNoRows(runDir.resolve(table.getKey()), table.getValue());
          plan.add((appended.contains(table.getKey()) ? "append " : "replace ") + table.getKey());
        }
        Path marker = Files.write(runDir.resolve(COMMITTING + ".tmp"), plan);
        Files.move(marker, runDir.resolve(COMMITTING), StandardCopyOption.ATOMIC_MOVE);
      }
      for (String table : schemas.keySet()) {
        committed.output(tableDir(Path.of(outputDir), scanDate, table).toString());
      }
      if (Files.isDirectory(runDir)) {
        finish(runDir, Path.of(outputDir));
      }
    }

    /**
     * Refuses to commit a run some of whose written files are neither staged nor committed (by this step, tried
     * before): something removed them while the job ran, and committing the rest would give tables without those
     * rows, or empty ones, under a scan that succeeded.
     */
    static void requireWritten(Path outputDir, LocalDate scanDate, Set<String> appended, Path runDir,
        List<String> files) throws IOException {
      List<String> missing = files.stream().map(Path::of).filter(file -> !Files.isRegularFile(file)
              && !Files.isRegularFile(committedPath(outputDir, scanDate, appended, runDir, file)))
          .map(Path::toString).sorted().toList();
      if (!missing.isEmpty()) {
        throw new IOException(missing.size() + " of the " + files.size() + " Parquet files this job wrote into "
            + runDir + " are gone (" + missing.get(0) + (missing.size() > 1 ? ", ..." : "") + "): something removed "
            + "them while the job ran, so none of its tables is committed");
      }
    }

    /** Where {@link #finish} puts a file staged in {@code runDir}. */
    private static Path committedPath(Path outputDir, LocalDate scanDate, Set<String> appended, Path runDir,
        Path staged) {
      String table = staged.getParent().getFileName().toString();
      String name = appended.contains(table) ? runDir.getFileName() + "-" + staged.getFileName()
          : staged.getFileName().toString();
      return tableDir(outputDir, scanDate, table).resolve(name);
    }

    /** The scan date of the plan in {@code marker}. */
    static LocalDate planDate(Path marker) throws IOException {
      return LocalDate.parse(Files.readAllLines(marker).get(0));
    }

    /** Carries out the plan in {@code runDir}'s marker, then removes {@code runDir}. */
    static void finish(Path runDir, Path outputDir) throws IOException {
      List<String> plan = Files.readAllLines(runDir.resolve(COMMITTING));
      LocalDate scanDate = LocalDate.parse(plan.get(0));
      for (String step : plan.subList(1, plan.size())) {
        String table = step.substring(step.indexOf(' ') + 1);
        Path staged = runDir.resolve(table);
        Path target = tableDir(outputDir, scanDate, table);
        if (Files.isDirectory(staged) && step.startsWith("append ")) {
          addFiles(staged, target, runDir.getFileName().toString());
        } else if (Files.isDirectory(staged)) {
          Files.createDirectories(target.getParent());
          if (Files.exists(target)) {
            Path replaced = Files.createDirectories(runDir.resolve("_replaced")).resolve(table);
            Files.move(target, replaced, StandardCopyOption.ATOMIC_MOVE);
          }
          Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
        } else if (!Files.isDirectory(target)) {
          throw new IOException("table " + table + " was neither staged at " + staged + " nor committed");
        }
      }
      FileTrees.deleteRecursively(runDir);
      try {
        Files.deleteIfExists(runDir.getParent());
      } catch (DirectoryNotEmptyException e) {
        // another run is staging its tables
      }
    }

    /**
     * Renames each Parquet file of {@code staged} into {@code target}, prefixed with the run's name (another run's
     * files there have the same names), then removes {@code staged}. A run with no rows adds no file to a table that
     * exists.
     */
    private static void addFiles(Path staged, Path target, String run) throws IOException {
      boolean exists = Files.isDirectory(target);
      Files.createDirectories(target);
      List<Path> files;
      try (Stream<Path> list = Files.list(staged)) {
        files = list.filter(file -> file.getFileName().toString().endsWith(".parquet")).sorted().toList();
      }
      for (Path file : files) {
        if (!(exists && file.getFileName().toString().equals(EMPTY_TABLE_FILE))) {
          Files.move(file, target.resolve(run + "-" + file.getFileName()), StandardCopyOption.ATOMIC_MOVE);
        }
      }
      FileTrees.deleteRecursively(staged);
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
      try (WritableByteChannel file = Files.newByteChannel(staged.resolve(EMPTY_TABLE_FILE),
          StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
        sink.open(file);
        sink.flush();
      }
    }
  }
}
