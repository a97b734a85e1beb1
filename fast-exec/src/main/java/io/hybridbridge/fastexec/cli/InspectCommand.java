package io.hybridbridge.fastexec.cli;

import io.hybridbridge.datasets.DatasetException;
import io.hybridbridge.emulator.kernel.KernelAnalysisException;
import io.hybridbridge.emulator.kernel.ReferenceNotFoundException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.ToolException;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.fastexec.FastPath;
import io.hybridbridge.fastexec.Inspector;
import io.hybridbridge.fastexec.store.MetadataStore;
import io.hybridbridge.fastexec.store.TranslationStore;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.cli.SnapshotNames;
import io.hybridbridge.taint.metadata.MetadataException;
import io.hybridbridge.taint.slowpath.SlowPath;
import io.hybridbridge.taint.slowpath.SlowPathException;
import io.hybridbridge.taint.slowpath.UntrustedSnapshot;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code hb inspect SNAPSHOT... --tool ps --path slow|fast|auto}: the tools' rows, as the trusted kernel of each
 * snapshot's build formats them, on the slow path, the fast path with the metadata store, or fast with the slow path
 * behind it (whose learning is committed to the store as a new version at the end).
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
    description = "Run inspection tools on memory snapshots with the trusted kernel of their build (the reference of "
        + "each build is found automatically) and print the rows and a report per tool.")
public final class InspectCommand implements Callable<Integer> {
  @Parameters(arity = "1..*", paramLabel = "SNAPSHOT",
      description = "ELF core, kdump-compressed, LiME or raw image; or a manifest id of the dataset.")
  List<String> snapshots;

  @Option(names = "--tool", paramLabel = "TOOL", defaultValue = "all",
      description = "ps, lsmod, netstat, system, mount, a comma-separated list, or all (default).")
  String tools;

  @Option(names = "--path", paramLabel = "PATH", defaultValue = "slow",
      description = "slow (taint-tracked redirection, the default), fast (the metadata store's decisions only: a "
          + "fallback is reported, no rows), auto (fast; on a fallback or without metadata the slow path, whose rows "
          + "are printed and whose metadata is committed to the store).")
  String path;

  @Option(names = "--store", paramLabel = "DIR",
      description = "Metadata store of the fast path (default: ${DEFAULT-VALUE}).")
  Path store = TrainCommand.defaultMetadataDirectory().resolve("store");

  @Option(names = "--audit-rate", paramLabel = "R", defaultValue = "0",
      description = "Fraction (0..1) of fast inspections re-run on the slow path to compare the rows; the sample is "
          + "chosen by a hash of the snapshot id, so the same snapshots every time.")
  double auditRate;

  @Option(names = "--json", description = "Print one JSON object per tool (rows and report) instead of tables.")
  boolean json;

  @Option(names = "--summary", description = "Print only the report line of each tool, no rows.")
  boolean summaryOnly;

  @Option(names = "--references", paramLabel = "DIR",
      description = "Dataset whose references are used (default: ${DEFAULT-VALUE}).")
  Path references = ReferenceStore.defaultDatasetDirectory();

  @Override
  public Integer call() throws IOException {
    PrintStream out = System.out;
    Inspector.Mode mode;
    List<InspectionTool> selected;
    SnapshotNames names;
    try {
      mode = Inspector.Mode.valueOf(path.toUpperCase(Locale.ROOT));
      if (!(auditRate >= 0 && auditRate <= 1)) {
        throw new IllegalArgumentException("--audit-rate must be within 0..1, not " + auditRate);
      }
      if (auditRate > 0 && mode == Inspector.Mode.SLOW) {
        throw new IllegalArgumentException("--audit-rate audits the fast path: use --path fast or auto");
      }
      selected = Tools.parseList(tools);
      names = SnapshotNames.of(references);
    } catch (IllegalArgumentException | ToolException | DatasetException e) {
      System.err.println("inspect: " + (e instanceof IllegalArgumentException && e.getMessage().startsWith("No enum")
          ? "unknown --path " + path + " (slow, fast or auto)" : e.getMessage()));
      return 2;
    }
    MetadataStore metadata = null;
    MetadataStore.Index base = new MetadataStore.Index(0, Set.of(), Set.of());
    ReferenceStore referenceStore = ReferenceStore.open(references);
    try {
      if (mode != Inspector.Mode.SLOW) {
        metadata = MetadataStore.open(store);
        base = metadata.latestIndex();
        base.outdatedNote(store).ifPresent(note -> System.err.println("inspect: " + note));
      }
    } catch (MetadataException e) {
      System.err.println("inspect: " + e.getMessage());
      return 2;
    }
    Map<String, FastPath> paths = new LinkedHashMap<>();
    Map<String, Inspector> inspectors = new LinkedHashMap<>();
    int badInput = 0;
    int failed = 0;
    try {
      for (String name : snapshots) {
        SnapshotNames.Named named = names.resolve(name);
        try (UntrustedSnapshot u = UntrustedSnapshot.open(named.path(), named.id(), named.vmId())) {
          ReferenceStore.Reference reference = referenceStore.require(u.kernel());
          Inspector inspector = inspectors.get(reference.id());
          if (inspector == null) {
            FastPath fast = FastPath.open(reference);
            if (metadata != null) { // its translated code too, for a long inspection or a scan on this store
              fast.keepTranslations(TranslationStore.ofMetadataStore(store));
            }
            paths.put(reference.id(), fast);
            inspector = new Inspector(fast, mode, unitsOf(metadata, base, fast.identity().buildId()), auditRate);
            inspectors.put(reference.id(), inspector);
          }
          for (InspectionTool tool : selected) {
            try {
              failed += report(out, tool, inspector.inspect(u, tool)) ? 0 : 1;
            } catch (SlowPathException | MetadataException e) {
              failed++;
              System.err.println("inspect: " + e.getMessage());
            }
          }
        } catch (SlowPathException | ReferenceNotFoundException | KernelAnalysisException e) {
          badInput++;
          System.err.println("inspect: " + e.getMessage());
        }
      }
      if (mode == Inspector.Mode.AUTO) {
        List<TrainingMetadata> learnt = new ArrayList<>();
        inspectors.values().forEach(i -> learnt.addAll(i.learnt()));
        MetadataStore.Version next = metadata.commit(learnt);
        System.err.printf("store %s: read version %d, %s%n", metadata.directory(), base.number(),
            learnt.isEmpty() ? "nothing learnt" : "wrote version " + next.number() + " (" + learnt.size()
                + " units learnt)");
      } else if (mode == Inspector.Mode.FAST) {
        System.err.printf("store %s: read version %d%n", metadata.directory(), base.number());
      }
      if (auditRate > 0) {
        int audits = inspectors.values().stream().mapToInt(Inspector::audits).sum();
        int disagreements = inspectors.values().stream().mapToInt(Inspector::disagreements).sum();
        System.err.printf("audit: %d fast inspections re-run on the slow path (rate %s), %d disagreements%n", audits,
            auditRate, disagreements);
        failed += disagreements;
      }
    } catch (MetadataException e) {
      System.err.println("inspect: " + e.getMessage());
      failed++;
    } finally {
      paths.values().forEach(FastPath::close);
    }
    return badInput > 0 ? 2 : failed == 0 ? 0 : 1;
  }

  /**
   * The units of {@code buildId} in version {@code base} of {@code metadata} (none without a store): a store that kept
   * many builds is not read whole for the snapshots of a few.
   */
  private static MetadataStore.Version unitsOf(MetadataStore metadata, MetadataStore.Index base, String buildId)
      throws MetadataException {
    return metadata == null || base.number() == 0 ? new MetadataStore.Version(base.number(), Map.of())
        : metadata.read(base.number(), key -> key.buildId().equals(buildId));
  }

  /** Prints one inspection; false when it gave no rows (a fallback or no metadata on the fast path alone). */
  private boolean report(PrintStream out, InspectionTool tool, Inspector.Result result) {
    List<String> lines = new ArrayList<>();
    if (result.fast() != null) {
      lines.add(result.fast().summary());
    }
    if (result.slow() != null) {
      lines.add((result.audit() != null ? "audit " : "") + result.slow().summary());
    }
    if (result.audit() != null) {
      lines.add(result.audit().agrees() ? "audit: the same rows" : "audit: DIFFERENT rows: "
          + result.audit().difference());
    }
    if (result.outcome() == Inspector.Outcome.NO_METADATA) {
      lines.add(tool.name() + ": no metadata for this build and tool in the store (train it: --path auto)");
    }
    if (json) {
      printJson(out, result, lines);
    } else {
      boolean answered = result.outcome() == Inspector.Outcome.FAST || result.outcome() == Inspector.Outcome.SLOW;
      if (!summaryOnly && answered) {
        printTable(out, tool, result.rows());
      }
      String prefix = snapshots.size() > 1 ? "[" + result.snapshotId() + "] " : "";
      lines.forEach(l -> out.println(prefix + l));
      if (result.fallback() != null && result.outcome() == Inspector.Outcome.FELL_BACK) {
        out.println(prefix + "fallback: " + result.fallback());
      }
      if (!summaryOnly) {
        out.println();
      }
    }
    return result.outcome() == Inspector.Outcome.FAST || result.outcome() == Inspector.Outcome.SLOW;
  }

  private static void printJson(PrintStream out, Inspector.Result result, List<String> lines) {
    StringBuilder s = new StringBuilder("{\"tool\": \"").append(result.tool()).append("\", \"snapshot\": \"")
        .append(result.snapshotId()).append("\", \"outcome\": \"").append(result.outcome()).append("\", \"rows\": [");
    for (int i = 0; i < result.rows().size(); i++) {
      s.append(i == 0 ? "" : ", ").append(result.rows().get(i)); // Avro's toString is JSON
    }
    s.append("], \"fallback\": ").append(result.fallback() == null ? "null" : result.fallback().toString());
    SlowPath.Inspection slow = result.audit() == null ? result.slow() : null;
    FastPath.Inspection fast = result.fast();
    long instructions = (fast == null ? 0 : fast.instructions()) + (slow == null ? 0 : slow.instructions());
    long redirected = slow != null ? slow.redirectedInstructions() : fast == null ? 0 : fast.redirectedInstructions();
    double seconds = ((fast == null ? 0 : fast.wallTime().toNanos()) + (slow == null ? 0 : slow.wallTime().toNanos()))
        / 1e9;
    s.append(String.format(", \"report\": {\"instructions\": %d, \"redirected_instructions\": %d", instructions,
        redirected));
    if (slow != null) {
      s.append(String.format(", \"metadata_entries\": %d, \"system_calls\": %d", slow.log().entries().size(),
          slow.syscalls()));
    }
    if (result.audit() != null) {
      s.append(", \"audit_agrees\": ").append(result.audit().agrees());
    }
    s.append(String.format(Locale.ROOT, ", \"wall_seconds\": %.3f, \"lines\": [", seconds));
    for (int i = 0; i < lines.size(); i++) {
      s.append(i == 0 ? "\"" : ", \"").append(lines.get(i).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
    }
    out.println(s.append("]}}"));
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
