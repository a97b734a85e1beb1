package io.hybridbridge.taint.cli;

import io.hybridbridge.datasets.DatasetException;
import io.hybridbridge.emulator.kernel.ReferenceNotFoundException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.ToolException;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.taint.slowpath.SlowPath;
import io.hybridbridge.taint.slowpath.SlowPathException;
import io.hybridbridge.taint.slowpath.UntrustedSnapshot;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hb inspect SNAPSHOT --tool ps}: the tool's rows, as the trusted kernel of the snapshot's build formats them. */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = "Run inspection tools on a memory snapshot with the trusted kernel of its build (the reference of "
        + "its build is found automatically) and print the rows and a report per tool.")
public final class InspectCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "SNAPSHOT",
      description = "ELF core, kdump-compressed, LiME or raw image; or a manifest id of the dataset.")
  String snapshot;

  @Option(names = "--tool", paramLabel = "TOOL", defaultValue = "all",
      description = "ps, lsmod, netstat, system, mount, a comma-separated list, or all (default).")
  String tools;

  @Option(names = "--path", paramLabel = "PATH", defaultValue = "slow",
      description = "Execution path: slow (taint-tracked redirection; the default and the only one here).")
  String path;

  @Option(names = "--json", description = "Print one JSON object per tool (rows and report) instead of tables.")
  boolean json;

  @Option(names = "--references", paramLabel = "DIR",
      description = "Dataset whose references are used (default: ${DEFAULT-VALUE}).")
  java.nio.file.Path references = ReferenceStore.defaultDatasetDirectory();

  @Override
  public Integer call() throws IOException {
    PrintStream out = System.out;
    if (!path.equals("slow")) {
      System.err.println("inspect: unknown --path " + path + " (this command runs the slow path: --path slow)");
      return 2;
    }
    List<InspectionTool> selected;
    SnapshotNames.Named named;
    ReferenceStore.Reference reference;
    try {
      selected = Tools.parseList(tools);
      named = SnapshotNames.of(references).resolve(snapshot);
    } catch (ToolException | DatasetException e) {
      System.err.println("inspect: " + e.getMessage());
      return 2;
    }
    try (UntrustedSnapshot u = UntrustedSnapshot.open(named.path(), named.id(), named.vmId())) {
      reference = ReferenceStore.open(references).require(u.kernel().identity());
      int failed = 0;
      try (SlowPath slow = SlowPath.open(reference)) {
        for (InspectionTool tool : selected) {
          try {
            SlowPath.Inspection run = slow.inspect(u, tool);
            if (json) {
              printJson(out, run);
            } else {
              printTable(out, tool, run.rows());
              out.println(run.summary());
              out.println();
            }
          } catch (SlowPathException e) {
            failed++;
            System.err.println("inspect: " + e.getMessage());
          }
        }
      }
      return failed == 0 ? 0 : 1;
    } catch (SlowPathException | ReferenceNotFoundException e) {
      System.err.println("inspect: " + e.getMessage());
      return 2;
    }
  }

  private static void printJson(PrintStream out, SlowPath.Inspection run) {
    StringBuilder s = new StringBuilder("{\"tool\": \"").append(run.tool()).append("\", \"snapshot\": \"")
        .append(run.snapshotId()).append("\", \"rows\": [");
    for (int i = 0; i < run.rows().size(); i++) {
      s.append(i == 0 ? "" : ", ").append(run.rows().get(i)); // Avro's toString is JSON
    }
    s.append(String.format("], \"report\": {\"instructions\": %d, \"redirected_instructions\": %d, "
            + "\"metadata_entries\": %d, \"system_calls\": %d, \"wall_seconds\": %.3f}}", run.instructions(),
        run.redirectedInstructions(), run.log().entries().size(), run.syscalls(), run.wallTime().toNanos() / 1e9));
    out.println(s);
  }

  private static String cell(Schema.Field field, Object v) {
    if (v == null) {
      return "";
    }
    if (v instanceof List<?> list) {
      return String.join(",", list.stream().map(String::valueOf).toList());
    }
    if (v instanceof Long address && field.name().endsWith("address")) {
      return "0x" + Long.toHexString(address); // kernel addresses read as hex
    }
    return v.toString();
  }

  /** The rows as a text table: every field but the naming ones every row shares. */
  private static void printTable(PrintStream out, InspectionTool tool, List<? extends SpecificRecord> rows) {
    out.println("== " + tool.name() + " (" + tool.table() + ")");
    if (rows.isEmpty()) {
      out.println("(no rows)");
      return;
    }
    List<Schema.Field> fields = new ArrayList<>();
    for (Schema.Field f : rows.get(0).getSchema().getFields()) {
      if (!List.of("snapshot_id", "vm_id", "kernel_build").contains(f.name())) {
        fields.add(f);
      }
    }
    List<String[]> cells = new ArrayList<>();
    cells.add(fields.stream().map(Schema.Field::name).toArray(String[]::new));
    for (SpecificRecord r : rows) {
      cells.add(fields.stream().map(f -> cell(f, r.get(f.pos()))).toArray(String[]::new));
    }
    int[] width = new int[fields.size()];
    for (String[] row : cells) {
      for (int i = 0; i < row.length; i++) {
        width[i] = Math.max(width[i], Math.min(row[i].length(), 60));
      }
    }
    for (String[] row : cells) {
      StringBuilder line = new StringBuilder();
      for (int i = 0; i < row.length; i++) {
        String cell = row[i].length() > 60 ? row[i].substring(0, 59) + "…" : row[i];
        line.append(i == 0 ? "" : "  ").append(i == row.length - 1 ? cell : String.format("%-" + width[i] + "s", cell));
      }
      out.println(line.toString().stripTrailing());
    }
  }
}
