package io.hybridbridge.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.tools.CapturedKernel;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.fastexec.FastPath;
import io.hybridbridge.pipeline.engine.MetadataStore;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.ModuleRow;
import io.hybridbridge.schemas.MountRow;
import io.hybridbridge.schemas.ProcessRow;
import io.hybridbridge.schemas.ScanTarget;
import io.hybridbridge.schemas.SnapshotRole;
import io.hybridbridge.schemas.SocketRow;
import io.hybridbridge.schemas.SystemRow;
import io.hybridbridge.schemas.TrainingMetadata;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.avro.specific.SpecificRecord;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The real scan on the Direct runner — identification, training on the slow path (emulator + taint) for every
 * (build, tool), the fast path on every (snapshot, tool), the slow path again where it fell back, the metadata
 * store's next version — over the default dataset's snapshots of two builds plus one snapshot of a build the
 * reference store lacks and one truncated copy; then the same scan again on the store it left. The two bad ones
 * are FAILED status rows with their reasons; every other (snapshot, tool) is OK, and its rows, read back by SQL
 * through DuckDB, equal what the guest printed before the dump (less what changes between that capture and the
 * dump: process state and rss, the work item in a kworker's name, uptime). The second scan trains nothing, falls
 * back nowhere and answers everything on the fast path with the same rows.
 */
@Tag("dataset")
class ScanDatasetTest {
  private static final LocalDate COLD = LocalDate.of(2025, 9, 1);
  private static final LocalDate WARM = LocalDate.of(2025, 9, 2);
  private static final String UNKNOWN_BUILD = "6.12.95+deb12-amd64";

  @TempDir Path work;

  /** What of a tool's rows must equal the ground truth, as SQL columns and the same from a row. */
  private record Columns(String sql, Function<SpecificRecord, String> row) {}

  private static final Map<String, Columns> COMPARED = Map.of(
      "processes", new Columns("pid || '|' || ppid || '|' || uid || '|' || start_time_ticks || '|' || "
          + "regexp_replace(comm, '^(kworker/[^-+]*)[-+].*', '\\1') || '|' || cmdline", r -> {
            ProcessRow p = (ProcessRow) r;
            return p.getPid() + "|" + p.getPpid() + "|" + p.getUid() + "|" + p.getStartTimeTicks() + "|"
                + p.getComm().replaceFirst("^(kworker/[^-+]*)[-+].*", "$1") + "|" + p.getCmdline();
          }),
      "modules", new Columns("name || '|' || size_bytes || '|' || refcount || '|' || array_to_string(used_by, ',')"
          + " || '|' || state", r -> {
            ModuleRow m = (ModuleRow) r;
            return m.getName() + "|" + m.getSizeBytes() + "|" + m.getRefcount() + "|" + String.join(",", m.getUsedBy())
                + "|" + m.getState();
          }),
      "sockets", new Columns("concat_ws('|', proto, local_address, local_port, remote_address, remote_port, state,"
          + " inode, unix_path)", r -> {
            SocketRow s = (SocketRow) r;
            return joinPresent(s.getProto(), s.getLocalAddress(), s.getLocalPort(), s.getRemoteAddress(),
                s.getRemotePort(), s.getState(), s.getInode(), s.getUnixPath());
          }),
      "system", new Columns("concat_ws('|', sysname, nodename, release, version, machine, domainname, proc_version)",
          r -> {
            SystemRow s = (SystemRow) r;
            return joinPresent(s.getSysname(), s.getNodename(), s.getRelease(), s.getVersion(), s.getMachine(),
                s.getDomainname(), s.getProcVersion());
          }),
      "mounts", new Columns("concat_ws('|', device, mountpoint, fstype, options)", r -> {
        MountRow m = (MountRow) r;
        return String.join("|", m.getDevice(), m.getMountpoint(), m.getFstype(), m.getOptions());
      }));

  @Test
  void aColdScanTrainsAndFallsBackAWarmOneRunsAllFastAndBothEqualTheGroundTruth() throws Exception {
    Path dataset = DefaultDataset.directory();
    List<ManifestEntry> known = DefaultDataset.entries(SnapshotRole.SNAPSHOT).stream()
        .filter(e -> !e.getKernelBuild().equals(UNKNOWN_BUILD)).toList();
    ManifestEntry unknown = DefaultDataset.entries(SnapshotRole.SNAPSHOT).stream()
        .filter(e -> e.getKernelBuild().equals(UNKNOWN_BUILD)).findFirst().orElseThrow();
    Path references = DefaultDataset.referencesWithout(UNKNOWN_BUILD, work.resolve("references"));
    Path truncated = DefaultDataset.truncatedCopy(DefaultDataset.path(DefaultDataset.first("ELF")), 16 << 20,
        work.resolve("truncated.elf"));

    List<ScanTarget> targets = new ArrayList<>(ScanTargets.fromManifest(dataset).stream()
        .filter(t -> !t.getId().startsWith(UNKNOWN_BUILD + "/")).toList());
    targets.add(ScanTarget.newBuilder().setId("unknown-build").setPath(DefaultDataset.path(unknown).toString())
        .setVmId("vm-unknown").build());
    targets.add(ScanTarget.newBuilder().setId("truncated").setPath(truncated.toString()).setVmId("vm-cut").build());
    assertThat(known).hasSize(targets.size() - 2);

    Path out = work.resolve("out");
    Path store = work.resolve("metadata");
    int pairs = known.size() * Tools.ALL.size();
    long builds = known.stream().map(ManifestEntry::getKernelBuild).distinct().count();

    Map<String, Long> cold = scan(targets, references, store, out, COLD, FastPath.TRANSLATE_AFTER);
    assertThat(cold).containsEntry(ScanCounters.IDENTIFIED, (long) known.size())
        .containsEntry(ScanCounters.IDENTIFY_FAILED, 2L).containsEntry(ScanCounters.TRAINED, builds * Tools.ALL.size())
        .containsEntry(ScanCounters.METADATA_COMMITS, 1L).doesNotContainKeys(ScanCounters.FAILED);
    long fallbacks = cold.getOrDefault(ScanCounters.FALLBACKS, 0L);
    assertThat(cold.getOrDefault(ScanCounters.OK_SLOW, 0L)).isEqualTo(fallbacks);
    assertThat(cold.get(ScanCounters.OK_FAST)).isEqualTo(pairs - fallbacks);
    assertThat(new MetadataDirectory(store).read().units()).hasSize((int) (builds * Tools.ALL.size()));

    // The warm night translates T's hot code from each fast path's 3rd inspection, and each inspector keeps one
    // fast path open, so the scan's 2 builds are more than it keeps: each build's 5 snapshots are one group, which
    // a worker inspects in a row, so at most one fast path is closed (one inspector taking both groups). Its rows
    // are compared too.
    Map<String, Long> warm = scan(targets, references, store, out, WARM, 3, 1);
    assertThat(warm).containsEntry(ScanCounters.OK_FAST, (long) pairs).doesNotContainKeys(ScanCounters.FAILED,
        ScanCounters.OK_SLOW, ScanCounters.TRAINED, ScanCounters.FALLBACKS, ScanCounters.METADATA_COMMITS);
    assertThat(warm.getOrDefault(ScanCounters.FAST_PATHS_CLOSED, 0L)).isLessThanOrEqualTo(builds - 1);
    MetadataStore.Version<TrainingMetadata> written = new MetadataDirectory(store).read();
    assertThat(written.number()).isEqualTo(1);

    try (Duck sql = new Duck(out)) {
      List<String> entries = written.units().values().stream().flatMap(unit -> unit.getEntries().stream()
          .map(e -> String.join("|", unit.getBuildId(), unit.getTool(), String.valueOf(e.getPcOffset()),
              String.valueOf(e.getOperand()), e.getDecision().name(), String.valueOf(e.getContexts().size()))))
          .sorted().toList();
      for (LocalDate night : List.of(COLD, WARM)) {
        String on = " scan_date = DATE '" + night + "'";
        assertThat(sql.rows("SELECT snapshot_id, vm_id, kernel_build, failure_kind FROM {t:status}"
            + " WHERE outcome = 'FAILED' AND" + on + " ORDER BY 1")).containsExactly(
            Arrays.asList("truncated", "vm-cut", null, "TRUNCATED"),
            List.of("unknown-build", "vm-unknown", UNKNOWN_BUILD, "NO_REFERENCE"));
        assertThat(sql.value("SELECT count(*) FROM {t:status} WHERE outcome <> 'FAILED' AND instructions > 0"
            + " AND redirected_instructions > 0 AND failure_kind IS NULL AND" + on)).isEqualTo(String.valueOf(pairs));
        assertThat(groundTruthDifferences(sql, on, known, targets, dataset)).as("night %s", night).isEmpty();
        // The metadata table is the store version the cold scan wrote (and the warm one read), entry for entry.
        assertThat(sql.rows("SELECT concat_ws('|', build_id, tool, pc_offset, operand, decision, contexts)"
            + " FROM {t:metadata} WHERE store_version = 1 AND" + on + " ORDER BY 1").stream().map(r -> r.get(0))
            .toList()).as("metadata of night %s", night).isEqualTo(entries);
        assertThat(sql.value("SELECT count(*) FROM {t:metadata} m WHERE (reference_id = '' OR len(trained_on) = 0"
            + " OR NOT EXISTS (SELECT 1 FROM {t:snapshots} s WHERE s.scan_date = m.scan_date"
            + " AND s.build_id = m.build_id AND s.kernel_build = m.kernel_build)) AND" + on)).isEqualTo("0");
        assertThat(sql.value("SELECT count(*) FROM {t:metadata} WHERE symbol LIKE '%+0x%' AND" + on))
            .isNotEqualTo("0");
      }
      assertThat(entries).hasSizeGreaterThan((int) (builds * Tools.ALL.size()));
      // Every fallback of the cold scan is an entry of the metadata that scan wrote, with the same symbol.
      assertThat(sql.value("SELECT count(*) FROM {t:fallbacks} WHERE scan_date = DATE '" + COLD + "'"))
          .isEqualTo(String.valueOf(fallbacks));
      assertThat(sql.rows("SELECT f.snapshot_id, f.tool, f.pc_offset, f.symbol FROM {t:fallbacks} f"
          + " WHERE NOT EXISTS (SELECT 1 FROM {t:metadata} m WHERE m.scan_date = f.scan_date"
          + " AND m.build_id = f.build_id AND m.tool = f.tool AND m.pc_offset = f.pc_offset"
          + " AND m.symbol IS NOT DISTINCT FROM f.symbol)")).isEmpty();
      assertThat(sql.value("SELECT reason FROM {t:status} WHERE snapshot_id = 'unknown-build' LIMIT 1"))
          .contains("no reference for kernel build " + UNKNOWN_BUILD);
      assertThat(sql.value("SELECT reason FROM {t:status} WHERE snapshot_id = 'truncated' LIMIT 1"))
          .contains("truncated.elf").contains("past the end of the file");
      // Every fallback of the cold scan is a fallbacks row, and its (snapshot, tool) ended OK_SLOW after it.
      assertThat(sql.value("SELECT count(*) FROM {t:fallbacks} f JOIN {t:status} s USING (scan_date, snapshot_id,"
          + " tool) WHERE s.outcome = 'OK_SLOW' AND s.fallbacks = 1 AND f.pc_offset <> 0 AND f.reason <> ''"
          + " AND f.kernel_build = s.kernel_build AND f.vm_id = s.vm_id")).isEqualTo(String.valueOf(fallbacks));
      System.out.printf("FIGURE cold scan: %d of %d (snapshot, tool) on the fast path, %d fell back: %s%n",
          pairs - fallbacks, pairs, fallbacks, sql.rows("SELECT tool, symbol, reason FROM {t:fallbacks}"));
    }
  }

  /** Scans {@code targets} with the real engine on the Direct runner; returns the scan's counters. */
  static Map<String, Long> scan(List<ScanTarget> targets, Path references, Path store, Path out,
      LocalDate night, int translateAfter) throws Exception {
    return scan(targets, references, store, out, night, translateAfter, 0);
  }

  /** The same, each inspector keeping at most {@code openFastPaths} fast paths open (0: as its heap says). */
  static Map<String, Long> scan(List<ScanTarget> targets, Path references, Path store, Path out,
      LocalDate night, int translateAfter, int openFastPaths) throws Exception {
    Pipeline p = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    p.apply(Create.of(targets).withCoder(AvroCoder.of(ScanTarget.class)))
        .apply(Scan.inspecting(references, Tools.ALL,
            Engines.real(references, store, translateAfter, openFastPaths),
            ParquetTables.write(out.toString(), night)));
    long start = System.nanoTime();
    PipelineResult result = p.run();
    assertThat(result.waitUntilFinish()).isEqualTo(PipelineResult.State.DONE);
    Map<String, Long> counters = ScanCounters.read(result);
    System.out.printf("FIGURE scan of %d snapshots x %d tools on Direct (%s): %.1f s, %s%n", targets.size(),
        Tools.ALL.size(), night, (System.nanoTime() - start) / 1e9, counters);
    return counters;
  }

  /** Each known snapshot's rows of every tool on one night, against the guest's ground truth. */
  private static List<String> groundTruthDifferences(Duck sql, String night, List<ManifestEntry> known,
      List<ScanTarget> targets, Path dataset) throws Exception {
    List<String> differences = new ArrayList<>();
    for (ManifestEntry entry : known) {
      CapturedKernel guest = CapturedKernel.open(dataset.resolve(entry.getGroundTruthPath()));
      ScanTarget target = targets.stream().filter(t -> t.getId().equals(entry.getId())).findFirst().orElseThrow();
      for (InspectionTool tool : Tools.ALL) {
        Columns columns = COMPARED.get(tool.table());
        List<String> expected = tool.run(guest, new RowContext(entry.getId(), target.getVmId(),
            entry.getKernelBuild())).stream().map(columns.row()).sorted().toList();
        List<String> actual = sql.rows("SELECT " + columns.sql() + " FROM {t:" + tool.table()
            + "} WHERE snapshot_id = '" + entry.getId() + "' AND vm_id = '" + entry.getVmId()
            + "' AND kernel_build = '" + entry.getKernelBuild() + "' AND" + night).stream().map(r -> r.get(0))
            .sorted().toList();
        if (!actual.equals(expected) || expected.isEmpty()) {
          differences.add(entry.getId() + " " + tool.name() + ": expected " + expected + "\n   got " + actual);
        }
      }
    }
    return differences;
  }

  private static String joinPresent(Object... values) {
    return Arrays.stream(values).filter(v -> v != null).map(String::valueOf)
        .collect(Collectors.joining("|"));
  }
}
