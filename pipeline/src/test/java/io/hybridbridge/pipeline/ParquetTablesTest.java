package io.hybridbridge.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.schemas.ModuleRow;
import io.hybridbridge.schemas.ProcessRow;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.io.parquet.ParquetIO;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.transforms.Filter;
import org.apache.beam.sdk.transforms.MapElements;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TypeDescriptor;
import org.apache.beam.sdk.values.TypeDescriptors;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** {@link ParquetTables} on the Direct runner, read back by Beam and by DuckDB. */
public class ParquetTablesTest {
  private static final LocalDate DAY = LocalDate.of(2025, 3, 14);

  @Rule public final transient TestPipeline writer = TestPipeline.create();
  @Rule public final transient TestPipeline reader = TestPipeline.create();
  @Rule public final transient TemporaryFolder folder = new TemporaryFolder();

  @Test
  public void writesEachTableUnderItsPartitionAndReadsBackTheSameRows() throws Exception {
    Path out = folder.getRoot().toPath();
    List<ProcessRow> processes = processes("snap-a", 120);
    List<ModuleRow> modules = modules("snap-a", 7);

    PCollection<String> committed = tables(writer, processes, modules).apply(ParquetTables.write(out.toString(), DAY));
    PAssert.that(committed).containsInAnyOrder(
        ParquetTables.tableDir(out, DAY, "processes").toString(),
        ParquetTables.tableDir(out, DAY, "modules").toString());
    writer.run().waitUntilFinish();

    PAssert.that(read(reader, ProcessRow.class, out, "processes")).containsInAnyOrder(processes);
    PAssert.that(read(reader, ModuleRow.class, out, "modules")).containsInAnyOrder(modules);
    reader.run().waitUntilFinish();

    assertThat(out.resolve(ParquetTables.STAGING_DIR)).doesNotExist();
    try (Stream<Path> entries = Files.list(ParquetTables.tableDir(out, DAY, "processes"))) {
      assertThat(entries.map(p -> p.getFileName().toString()))
          .isNotEmpty().allMatch(name -> name.startsWith("part-") && name.endsWith(".parquet"));
    }
  }

  @Test
  public void duckDbQueriesTheTablesWithTheScanDateAsAPartitionColumn() throws Exception {
    Path out = folder.getRoot().toPath();
    tables(writer, processes("snap-a", 50), modules("snap-a", 4)).apply(ParquetTables.write(out.toString(), DAY));
    writer.run().waitUntilFinish();

    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement sql = duck.createStatement()) {
      String processes = "read_parquet('" + out + "/*/processes/*.parquet', hive_partitioning = true)";
      assertThat(single(sql, "SELECT count(*), sum(pid), count(DISTINCT comm) FROM " + processes))
          .containsExactly("50", String.valueOf(IntStream.range(0, 50).map(i -> 100 + i).sum()), "50");
      assertThat(single(sql, "SELECT CAST(scan_date AS VARCHAR), comm, cmdline, vm_id FROM " + processes
          + " WHERE pid = 107"))
          .containsExactly("2025-03-14", "worker-7", "/usr/bin/worker --id 7", null);
      String modules = "read_parquet('" + out + "/*/modules/*.parquet', hive_partitioning = true)";
      assertThat(single(sql, "SELECT name, array_to_string(used_by, ','), size_bytes FROM " + modules
          + " WHERE name = 'mod_2'"))
          .containsExactly("mod_2", "mod_0,mod_1", "12288");
    }
  }

  @Test
  public void aFailedRunLeavesThePreviousTablesOfThatDateIntact() throws Exception {
    Path out = folder.getRoot().toPath();
    commitEarlierRun(out, processes("old", 5), modules("old", 2));

    // A long modules branch that fails at its last row: the processes table is written meanwhile and must not be
    // committed alone.
    long count = 100_000;
    ModuleRow module = modules("new", 1).get(0);
    PCollection<ModuleRow> failing = writer
        .apply("Module ids", GenerateSequence.from(0).to(count))
        .apply("Last ones", Filter.by(id -> id >= count - 3))
        .apply("Modules", MapElements.into(TypeDescriptor.of(ModuleRow.class)).via(id -> {
          if (id == count - 1) {
            throw new IllegalStateException("snapshot unreadable");
          }
          return module;
        }))
        .setCoder(AvroCoder.of(ModuleRow.class));
    PCollectionTuple.of(new TupleTag<>("processes"), created(writer, ProcessRow.class, processes("new", 40)))
        .and(new TupleTag<>("modules"), failing)
        .apply(ParquetTables.write(out.toString(), DAY));
    assertThatThrownBy(() -> writer.run().waitUntilFinish()).hasMessageContaining("snapshot unreadable");

    PAssert.that(read(reader, ProcessRow.class, out, "processes")).containsInAnyOrder(processes("old", 5));
    PAssert.that(read(reader, ModuleRow.class, out, "modules")).containsInAnyOrder(modules("old", 2));
    reader.run().waitUntilFinish();
  }

  @Test
  public void aFailureInAnotherOutputItWaitsForLeavesTheTablesUncommitted() throws Exception {
    Path out = folder.getRoot().toPath();
    // A long branch (the tables are written meanwhile) that fails at its last element.
    long deltas = 100_000;
    PCollection<Long> metadataStore = writer
        .apply("Metadata deltas", GenerateSequence.from(0).to(deltas))
        .apply("Write metadata", MapElements.into(TypeDescriptors.longs()).via(delta -> {
          if (delta == deltas - 1) {
            throw new IllegalStateException("metadata store full");
          }
          return delta;
        }));
    tables(writer, processes("new", 10), modules("new", 2))
        .apply(ParquetTables.write(out.toString(), DAY).waitingFor(metadataStore));
    assertThatThrownBy(() -> writer.run().waitUntilFinish()).hasMessageContaining("metadata store full");

    assertThat(out.resolve("scan_date=" + DAY)).doesNotExist();
  }

  @Test
  public void aSecondRunForTheSameDateReplacesItsTablesWhole() throws Exception {
    Path out = folder.getRoot().toPath();
    commitEarlierRun(out, processes("old", 30), modules("old", 2));

    tables(writer, processes("new", 3), modules("new", 1)).apply(ParquetTables.write(out.toString(), DAY));
    writer.run().waitUntilFinish();

    PAssert.that(read(reader, ProcessRow.class, out, "processes")).containsInAnyOrder(processes("new", 3));
    PAssert.that(read(reader, ModuleRow.class, out, "modules")).containsInAnyOrder(modules("new", 1));
    reader.run().waitUntilFinish();
    assertThat(out.resolve(ParquetTables.STAGING_DIR)).doesNotExist();
  }

  @Test
  public void anAppendingRunAddsItsRowsAndReplacesOnlyTheTablesItNames() throws Exception {
    Path out = folder.getRoot().toPath();
    commitEarlierRun(out, processes("first", 30), modules("first", 2));

    tables(writer, processes("second", 3), modules("second", 1))
        .apply(ParquetTables.write(out.toString(), DAY).appending(Set.of("modules")));
    writer.run().waitUntilFinish();
    // A third run with no processes adds no file to the table (nor an empty one).
    Pipeline third = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    tables(third, List.of(), modules("third", 2)).apply(ParquetTables.write(out.toString(), DAY).appending(Set.of()));
    third.run().waitUntilFinish();

    List<ProcessRow> both = new ArrayList<>(processes("first", 30));
    both.addAll(processes("second", 3));
    PAssert.that(read(reader, ProcessRow.class, out, "processes")).containsInAnyOrder(both);
    List<ModuleRow> replacedThenAdded = new ArrayList<>(modules("second", 1));
    replacedThenAdded.addAll(modules("third", 2));
    PAssert.that(read(reader, ModuleRow.class, out, "modules")).containsInAnyOrder(replacedThenAdded);
    reader.run().waitUntilFinish();
    try (Stream<Path> files = Files.list(ParquetTables.tableDir(out, DAY, "processes"))) {
      assertThat(files.map(p -> p.getFileName().toString())).allMatch(name -> name.endsWith(".parquet"))
          .noneMatch(name -> name.contains("empty"));
    }
    assertThat(out.resolve(ParquetTables.STAGING_DIR)).doesNotExist();
  }

  @Test
  public void aCommitStoppedBetweenTablesIsFinishedLaterAsTheRunMeantItAndAStoppedWriteIsDropped() throws Exception {
    Path out = folder.getRoot().toPath();
    commitEarlierRun(out, processes("first", 4), modules("first", 2));
    // The modules table cannot be committed (a file where its directory goes): the processes table, committed
    // before it, already has the run's rows when the job fails.
    Path modulesDir = ParquetTables.tableDir(out, DAY, "modules");
    Path aside = Files.move(modulesDir, folder.getRoot().toPath().resolve("modules-aside"));
    Files.writeString(modulesDir, "in the way");
    tables(writer, processes("second", 3), modules("second", 1))
        .apply(ParquetTables.write(out.toString(), DAY).appending(Set.of()));
    assertThatThrownBy(() -> writer.run().waitUntilFinish()).hasMessageContaining("modules");
    Files.delete(modulesDir);
    Files.move(aside, modulesDir);

    // A run that stopped before its tables were written (a directory of part files and no commit plan).
    Path staging = out.resolve(ParquetTables.STAGING_DIR);
    Path unfinished = Files.createDirectories(staging.resolve(DAY + ".stopped-run/processes"));
    Files.writeString(unfinished.resolve("part-00000-of-00001.parquet"), "half a file");
    // A run of another date, which may be writing now: left alone.
    Path otherDate = Files.createDirectories(staging.resolve(DAY.plusDays(1) + ".running/processes"));

    assertThat(ParquetTables.endInterruptedRuns(out, DAY)).extracting(ParquetTables.InterruptedRun::committed)
        .containsExactlyInAnyOrder(true, false);
    assertThat(ParquetTables.endInterruptedRuns(out, DAY)).isEmpty();
    assertThat(otherDate).isDirectory();
    assertThat(ParquetTables.endInterruptedRuns(out, DAY.plusDays(1))).extracting(ParquetTables.InterruptedRun::run)
        .containsExactly(DAY.plusDays(1) + ".running");
    List<ProcessRow> processes = new ArrayList<>(processes("first", 4));
    processes.addAll(processes("second", 3));
    List<ModuleRow> modules = new ArrayList<>(modules("first", 2));
    modules.addAll(modules("second", 1));
    PAssert.that(read(reader, ProcessRow.class, out, "processes")).containsInAnyOrder(processes);
    PAssert.that(read(reader, ModuleRow.class, out, "modules")).containsInAnyOrder(modules);
    reader.run().waitUntilFinish();
    assertThat(out.resolve(ParquetTables.STAGING_DIR)).doesNotExist();
  }

  @Test
  public void aRunWhoseWrittenFilesAreGoneIsNotCommitted() throws Exception {
    Path out = folder.getRoot().toPath();
    Path run = out.resolve(ParquetTables.STAGING_DIR).resolve(ParquetTables.runName(DAY));
    Path staged = Files.createDirectories(run.resolve("processes")).resolve("part-00000-of-00002.parquet");
    Path gone = run.resolve("processes/part-00001-of-00002.parquet");
    Files.writeString(staged, "rows");
    List<String> written = List.of(staged.toString(), gone.toString());

    assertThatThrownBy(() -> ParquetTables.CommitFn.requireWritten(out, DAY, Set.of(), run, written))
        .hasMessageContaining("1 of the 2 Parquet files").hasMessageContaining(gone.toString())
        .hasMessageContaining("none of its tables is committed");
    // Both committed by an earlier try of the commit: the table replaced, or the files appended under the run's name.
    Path table = Files.createDirectories(ParquetTables.tableDir(out, DAY, "processes"));
    Files.writeString(table.resolve(gone.getFileName().toString()), "rows");
    ParquetTables.CommitFn.requireWritten(out, DAY, Set.of(), run, written);
    Files.delete(staged);
    assertThatThrownBy(() -> ParquetTables.CommitFn.requireWritten(out, DAY, Set.of("processes"), run, written))
        .hasMessageContaining("2 of the 2");
    Files.writeString(table.resolve(run.getFileName() + "-" + staged.getFileName()), "rows");
    Files.writeString(table.resolve(run.getFileName() + "-" + gone.getFileName()), "rows");
    ParquetTables.CommitFn.requireWritten(out, DAY, Set.of("processes"), run, written);
  }

  @Test
  public void anEmptyTableIsStillATableWithItsSchema() throws Exception {
    Path out = folder.getRoot().toPath();
    tables(writer, processes("snap-a", 3), List.of()).apply(ParquetTables.write(out.toString(), DAY));
    writer.run().waitUntilFinish();

    try (Connection duck = DriverManager.getConnection("jdbc:duckdb:");
        Statement sql = duck.createStatement()) {
      String modules = "read_parquet('" + out + "/*/modules/*.parquet', hive_partitioning = true)";
      assertThat(single(sql, "SELECT count(*) FROM " + modules)).containsExactly("0");
      assertThat(single(sql, "SELECT count(*) FROM (DESCRIBE SELECT name, used_by, address FROM " + modules + ")"))
          .containsExactly("3");
    }
  }

  @Test
  public void rejectsTablesItCannotWriteAtConstruction() {
    writer.enableAbandonedNodeEnforcement(false);
    PCollection<String> text = writer.apply(Create.of("not a record"));
    assertThatThrownBy(() -> PCollectionTuple.of(new TupleTag<>("lines"), text)
        .apply(ParquetTables.write(folder.getRoot().toString(), DAY)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("AvroCoder");
    PCollection<ProcessRow> rows = created(writer, ProcessRow.class, processes("s", 1));
    assertThatThrownBy(() -> PCollectionTuple.of(new TupleTag<>("Bad-Name"), rows)
        .apply("bad name", ParquetTables.write(folder.getRoot().toString(), DAY)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("Bad-Name");
    assertThatThrownBy(() -> ParquetTables.write("s3://bucket/out", DAY))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("POSIX");
  }

  /** The tables of an earlier run for the same date, committed by a pipeline of their own. */
  private static void commitEarlierRun(Path out, List<ProcessRow> processes, List<ModuleRow> modules) {
    Pipeline earlier = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    tables(earlier, processes, modules).apply(ParquetTables.write(out.toString(), DAY));
    earlier.run().waitUntilFinish();
  }

  private static PCollectionTuple tables(Pipeline p, List<ProcessRow> processes, List<ModuleRow> modules) {
    return PCollectionTuple.of(new TupleTag<>("processes"), created(p, ProcessRow.class, processes))
        .and(new TupleTag<>("modules"), created(p, ModuleRow.class, modules));
  }

  private static <T extends SpecificRecord> PCollection<T> created(Pipeline p, Class<T> type, List<T> rows) {
    return p.apply("Create " + type.getSimpleName(), Create.of(rows).withCoder(AvroCoder.of(type)));
  }

  private static <T extends SpecificRecord> PCollection<T> read(Pipeline p, Class<T> type, Path out, String table) {
    Schema schema = SpecificData.get().getSchema(type);
    return p.apply("Read " + table, ParquetIO.parseGenericRecords(record -> type.cast(
            SpecificData.get().deepCopy(schema, record)))
        .withCoder(AvroCoder.of(type))
        .from(ParquetTables.tableDir(out, DAY, table) + "/*.parquet"));
  }

  private static List<String> single(Statement sql, String query) throws SQLException {
    try (ResultSet rows = sql.executeQuery(query)) {
      assertThat(rows.next()).as("a row from %s", query).isTrue();
      List<String> values = new ArrayList<>();
      for (int i = 1; i <= rows.getMetaData().getColumnCount(); i++) {
        values.add(rows.getString(i));
      }
      assertThat(rows.next()).as("one row from %s", query).isFalse();
      return values;
    }
  }

  static List<ProcessRow> processes(String snapshot, int count) {
    return IntStream.range(0, count).mapToObj(i -> ProcessRow.newBuilder()
        .setSnapshotId(snapshot).setVmId(null).setKernelBuild("6.1.0-28-amd64")
        .setPid(100 + i).setPpid(1).setTgid(100 + i).setComm("worker-" + i).setState(i % 3 == 0 ? "R" : "S")
        .setUid(i % 2 == 0 ? 0 : 1000).setGid(0).setThreads(1 + i % 4).setVsizeBytes(4096L * (1000 + i))
        .setRssPages(50 + i).setStartTimeTicks(300 + i).setCmdline("/usr/bin/worker --id " + i)
        .build()).toList();
  }

  static List<ModuleRow> modules(String snapshot, int count) {
    return IntStream.range(0, count).mapToObj(i -> ModuleRow.newBuilder()
        .setSnapshotId(snapshot).setVmId("vm-1").setKernelBuild("6.1.0-28-amd64")
        .setName("mod_" + i).setSizeBytes(4096L * (i + 1)).setRefcount(i)
        .setUsedBy(IntStream.range(0, i).mapToObj(j -> "mod_" + j).toList())
        .setState("Live").setAddress(0xffffffffc0000000L + 0x10000L * i)
        .build()).toList();
  }
}
