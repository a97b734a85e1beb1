package io.hybridbridge.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.tools.CapturedKernel;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.pipeline.engine.MetadataStore;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.ScanTarget;
import io.hybridbridge.schemas.SnapshotRole;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.options.PipelineOptionsFactory;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;

/**
 * The whole scan graph on the real default dataset, with the ground-truth replay test engine in place of the
 * emulator (see {@link GroundTruthReplayEngine}: it proves the plumbing, not inspection). A first scan with an
 * empty store trains every (build, tool) on one snapshot per build, answers the rest on the "fast path", re-trains
 * what fell back and commits store version 1; a second scan over the same inputs trains nothing, has zero
 * fallbacks and commits nothing. Every (snapshot, tool) has one status row, every row names its snapshot, VM and
 * build, and each table holds the rows the replay gives, checked by SQL. The cold scan runs on the Direct runner,
 * the warm one on an embedded Flink: the graph translates to both, and both nights' rows are identical.
 */
@Tag("dataset")
class ScanReplayDatasetTest {
  private static final LocalDate FIRST_NIGHT = LocalDate.of(2025, 7, 1);
  private static final LocalDate SECOND_NIGHT = LocalDate.of(2025, 7, 2);

  @TempDir Path out;

  @Test
  void aColdScanTrainsFallsBackAndRetrainsAWarmOneRunsAllFast() throws Exception {
    Path dataset = DefaultDataset.directory();
    List<ManifestEntry> entries = DefaultDataset.entries(SnapshotRole.SNAPSHOT);
    Map<String, String> truth = entries.stream().collect(Collectors.toMap(ManifestEntry::getId,
        e -> dataset.resolve(e.getGroundTruthPath()).toString()));
    List<ScanTarget> targets = ScanTargets.fromManifest(dataset);
    GroundTruthReplayEngine engine = new GroundTruthReplayEngine(truth);
    MemoryStore<List<String>> store = new MemoryStore<>("replay-" + out.getFileName(), engine);
    int pairs = targets.size() * Tools.ALL.size();
    int builds = (int) entries.stream().map(ManifestEntry::getKernelBuild).distinct().count();

    Map<String, Long> cold = scan(targets, engine, store, FIRST_NIGHT, TestPipeline.create());
    assertThat(cold).containsEntry(ScanCounters.IDENTIFIED, (long) targets.size())
        .containsEntry(ScanCounters.TRAINED, (long) builds * Tools.ALL.size())
        .containsEntry(ScanCounters.METADATA_COMMITS, 1L);
    assertThat(cold.getOrDefault(ScanCounters.FALLBACKS, 0L)).as("fallbacks of the cold scan").isPositive();
    assertThat(cold.get(ScanCounters.OK_FAST) + cold.get(ScanCounters.OK_SLOW)).isEqualTo(pairs);
    assertThat(cold.get(ScanCounters.OK_SLOW)).isEqualTo(cold.get(ScanCounters.FALLBACKS));
    MetadataStore.Version<List<String>> afterCold = store.read();
    assertThat(afterCold.number()).isEqualTo(1);
    assertThat(afterCold.units()).hasSize(builds * Tools.ALL.size());

    Map<String, Long> warm = scan(targets, engine, store, SECOND_NIGHT, TestPipeline.fromOptions(
        PipelineOptionsFactory.fromArgs("--runner=FlinkRunner", "--flinkMaster=[local]", "--parallelism=2")
            .create()));
    assertThat(warm).containsEntry(ScanCounters.OK_FAST, (long) pairs)
        .doesNotContainKeys(ScanCounters.OK_SLOW, ScanCounters.FAILED, ScanCounters.METADATA_COMMITS,
            ScanCounters.TRAINED, ScanCounters.FALLBACKS); // counters never incremented are not reported
    assertThat(store.read().number()).isEqualTo(1);

    try (Duck sql = new Duck(out)) {
      String night1 = "scan_date = DATE '" + FIRST_NIGHT + "'";
      String night2 = "scan_date = DATE '" + SECOND_NIGHT + "'";
      assertThat(sql.value("SELECT count(*) FROM {t:status} WHERE " + night1)).isEqualTo(String.valueOf(pairs));
      assertThat(sql.value("SELECT count(DISTINCT (snapshot_id, tool)) FROM {t:status} WHERE " + night1))
          .isEqualTo(String.valueOf(pairs));
      // OK_SLOW exactly where the fast path fell back, with as many fallbacks as the fallbacks table lists.
      assertThat(sql.value("SELECT count(*) FROM {t:status} s LEFT JOIN (SELECT snapshot_id, tool, count(*) n,"
          + " scan_date FROM {t:fallbacks} GROUP BY ALL) f USING (snapshot_id, tool, scan_date) WHERE " + "s."
          + night1 + " AND (s.outcome = 'OK_SLOW') <> (coalesce(f.n, 0) > 0 AND s.fallbacks = f.n)"))
          .isEqualTo("0");
      // The training samples (the smallest id of each build) ran fast on the metadata they produced.
      assertThat(sql.value("SELECT count(*) FROM {t:status} WHERE " + night1 + " AND outcome <> 'OK_FAST' AND"
          + " snapshot_id IN (SELECT min(snapshot_id) FROM {t:snapshots} GROUP BY kernel_build)")).isEqualTo("0");
      assertThat(sql.rows("SELECT DISTINCT outcome, fallbacks FROM {t:status} WHERE " + night2))
          .containsExactly(List.of("OK_FAST", "0"));
      assertThat(sql.value("SELECT count(*) FROM {t:fallbacks} WHERE " + night2)).isEqualTo("0");

      for (InspectionTool tool : Tools.ALL) {
        Map<String, Long> expected = expectedRowCounts(tool, entries, dataset);
        for (String night : List.of(night1, night2)) {
          Map<String, Long> actual = new TreeMap<>();
          for (List<String> row : sql.rows("SELECT snapshot_id, count(*) FROM {t:" + tool.table() + "} WHERE "
              + night + " GROUP BY ALL")) {
            actual.put(row.get(0), Long.parseLong(row.get(1)));
          }
          assertThat(actual).as("%s rows per snapshot, %s", tool.table(), night).isEqualTo(expected);
        }
        // The same rows on both nights (and both runners).
        for (String[] nights : new String[][] {{night1, night2}, {night2, night1}}) {
          assertThat(sql.value("SELECT count(*) FROM (SELECT * EXCLUDE (scan_date) FROM {t:" + tool.table()
              + "} WHERE " + nights[0] + " EXCEPT ALL SELECT * EXCLUDE (scan_date) FROM {t:" + tool.table()
              + "} WHERE " + nights[1] + ")")).as("%s rows only where %s", tool.table(), nights[0]).isEqualTo("0");
        }
        // Every row names its snapshot, VM and build as the snapshots table does.
        assertThat(sql.value("SELECT count(*) FROM {t:" + tool.table() + "} r ANTI JOIN {t:snapshots} s"
            + " ON r.snapshot_id = s.snapshot_id AND r.vm_id IS NOT DISTINCT FROM s.vm_id"
            + " AND r.kernel_build = s.kernel_build AND r.scan_date = s.scan_date")).isEqualTo("0");
      }
    }
  }

  private Map<String, Long> scan(List<ScanTarget> targets, GroundTruthReplayEngine engine,
      MemoryStore<List<String>> store, LocalDate night, TestPipeline pipeline) throws Exception {
    Pipeline p = pipeline.enableAbandonedNodeEnforcement(false);
    p.apply(Create.of(targets).withCoder(AvroCoder.of(ScanTarget.class)))
        .apply(Scan.inspecting(DefaultDataset.directory(), Tools.ALL, Scan.Engine.open(engine, store),
            ParquetTables.write(out.toString(), night)));
    long start = System.nanoTime();
    PipelineResult result = p.run();
    assertThat(result.waitUntilFinish()).isEqualTo(PipelineResult.State.DONE);
    System.out.printf("FIGURE replay scan of %d snapshots x %d tools (%s, %s): %.1f s%n", targets.size(),
        Tools.ALL.size(), night, p.getOptions().getRunner().getSimpleName(), (System.nanoTime() - start) / 1e9);
    return ScanCounters.read(result);
  }

  /** Rows per snapshot the tool gives on the captured kernel directly. */
  private static Map<String, Long> expectedRowCounts(InspectionTool tool, List<ManifestEntry> entries, Path dataset)
      throws Exception {
    Map<String, Long> counts = new TreeMap<>();
    for (ManifestEntry entry : entries) {
      CapturedKernel kernel = CapturedKernel.open(dataset.resolve(entry.getGroundTruthPath()));
      List<?> rows = new ArrayList<>(tool.run(kernel, new RowContext(entry.getId(), entry.getVmId(),
          entry.getKernelBuild())));
      if (!rows.isEmpty()) {
        counts.put(entry.getId(), (long) rows.size());
      }
    }
    return counts;
  }
}
