package io.hybridbridge.runners;

import io.hybridbridge.pipeline.ParquetTables;
import io.hybridbridge.pipeline.RecordCoder;
import io.hybridbridge.schemas.ModuleRow;
import io.hybridbridge.schemas.ProcessRow;
import java.time.LocalDate;
import java.util.List;
import java.util.TreeSet;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.io.GenerateSequence;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;

/**
 * A small deterministic job that exercises a runner end to end with the scan's real output stage: it generates
 * {@code processes} process rows and, through a {@link GroupByKey} (a shuffle between workers), one module row
 * per module with the sorted list of modules that use it, and writes both tables with {@link ParquetTables}.
 * The same arguments give the same rows on every runner, so outputs of two runners can be compared row by row.
 * The rows are generated, not observed: this checks the runner, the staging and the output stage, nothing else.
 */
public final class SmokeJob {
  private static final String SNAPSHOT_PREFIX = "smoke-";
  private static final int SNAPSHOTS = 10;

  private SmokeJob() {}

  /** Adds the job to {@code pipeline}; its output is the list of committed table directories. */
  public static PCollection<String> expand(Pipeline pipeline, int processes, String outputDir, LocalDate scanDate) {
    if (processes < 1) {
      throw new IllegalArgumentException("the smoke job needs at least one process row: " + processes);
    }
    int modules = Math.max(2, processes / 50);
    PCollection<Long> ids = pipeline.apply("Ids", GenerateSequence.from(0).to(processes));
    PCollection<ProcessRow> processRows = ids
        .apply("Processes", ParDo.of(new ProcessFn()))
        .setCoder(RecordCoder.of(ProcessRow.class));
    PCollection<ModuleRow> moduleRows = ids
        .apply("Use edges", ParDo.of(new UseFn(modules)))
        .apply("Users per module", GroupByKey.create())
        .apply("Modules", ParDo.of(new ModuleFn()))
        .setCoder(RecordCoder.of(ModuleRow.class));
    return PCollectionTuple.of(new TupleTag<>("processes"), processRows)
        .and(new TupleTag<>("modules"), moduleRows)
        .apply("Write tables", ParquetTables.write(outputDir, scanDate));
  }

  /** Process {@code i} of snapshot {@code i % 10}: pid, parent, name, state and sizes derived from {@code i}. */
  private static final class ProcessFn extends DoFn<Long, ProcessRow> {
    @ProcessElement
    public void process(@Element Long id, OutputReceiver<ProcessRow> out) {
      int i = id.intValue();
      out.output(ProcessRow.newBuilder()
          .setSnapshotId(SNAPSHOT_PREFIX + (i % SNAPSHOTS)).setVmId("vm-" + (i % SNAPSHOTS))
          .setKernelBuild("6.1.0-smoke-amd64")
          .setPid(i + 1).setPpid(i / 4 + 1).setTgid(i + 1)
          .setComm("proc-" + i).setState("RSDI".substring(i % 4, i % 4 + 1))
          .setUid(i % 3 * 1000).setGid(i % 3 * 1000).setThreads(1 + i % 8)
          .setVsizeBytes(4096L * (1000 + i)).setRssPages(100L + i % 997).setStartTimeTicks(i * 13L)
          .setCmdline(i % 5 == 0 ? "" : "/usr/bin/proc-" + i + " --serve " + (i % 7))
          .build());
    }
  }

  /** Edge {@code e}: module {@code e % n} is used by module {@code (7e + 3) % n}. */
  private static final class UseFn extends DoFn<Long, KV<String, String>> {
    private final int modules;

    UseFn(int modules) {
      this.modules = modules;
    }

    @ProcessElement
    public void process(@Element Long edge, OutputReceiver<KV<String, String>> out) {
      long e = edge;
      out.output(KV.of("mod_" + (e % modules), "mod_" + ((7 * e + 3) % modules)));
    }
  }

  private static final class ModuleFn extends DoFn<KV<String, Iterable<String>>, ModuleRow> {
    @ProcessElement
    public void process(@Element KV<String, Iterable<String>> module, OutputReceiver<ModuleRow> out) {
      TreeSet<String> users = new TreeSet<>();
      module.getValue().forEach(users::add);
      int number = Integer.parseInt(module.getKey().substring("mod_".length()));
      out.output(ModuleRow.newBuilder()
          .setSnapshotId(SNAPSHOT_PREFIX + (number % SNAPSHOTS)).setVmId(null).setKernelBuild("6.1.0-smoke-amd64")
          .setName(module.getKey()).setSizeBytes(4096L * (number + 1)).setRefcount(users.size())
          .setUsedBy(List.copyOf(users)).setState("Live").setAddress(0xffffffffc0000000L + 0x10000L * number)
          .build());
    }
  }
}
