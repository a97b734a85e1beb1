package io.hybridbridge.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.datasets.BuildOptions;
import io.hybridbridge.datasets.DatasetBuilder;
import io.hybridbridge.datasets.HbCache;
import io.hybridbridge.datasets.KernelBuildName;
import io.hybridbridge.datasets.Manifests;
import io.hybridbridge.datasets.Progress;
import io.hybridbridge.datasets.SnapshotFormats;
import io.hybridbridge.emulator.kernel.GuestKernel;
import io.hybridbridge.emulator.kernel.ReferenceNotFoundException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.Snapshots;
import io.hybridbridge.emulator.tools.CapturedKernel;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.fastexec.FastPath;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotRole;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.testing.GroundTruth;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A fleet whose VMs of one kernel build come in two sizes (one and two vCPUs): the dataset has a reference of each
 * size, each snapshot is inspected with the reference of its own size, and one training per tool serves both. Built
 * once per machine ({@code $HB_CACHE/datasets/mixed-cpus}: 6.1 cloud, two references and two boots of two dumps,
 * ≈ 45 s), then reused.
 */
@Tag("dataset")
class MixedCpuScanTest {
  private static final String BUILD = "6.1.0-53-cloud-amd64";
  private static final LocalDate COLD = LocalDate.of(2025, 10, 1);
  private static final LocalDate WARM = LocalDate.of(2025, 10, 2);

  @TempDir Path work;

  @Test
  void eachSnapshotGetsTheReferenceOfItsSizeAndOneTrainingServesBothSizes() throws Exception {
    Path dataset = HbCache.root().resolve("datasets").resolve("mixed-cpus");
    new DatasetBuilder(BuildOptions.defaults(dataset, HbCache.packages(), List.of(new KernelBuildName(BUILD)))
        .withGuestCpus(1, 2).withFleet(4, 2, SnapshotFormats.KDUMP), new Progress(System.err)).build();
    List<ManifestEntry> entries = Manifests.read(dataset).getEntries();
    List<ManifestEntry> snapshots = entries.stream().filter(e -> e.getRole() == SnapshotRole.SNAPSHOT).toList();
    assertThat(entries.stream().filter(e -> e.getRole() == SnapshotRole.REFERENCE).map(MixedCpuScanTest::cpus))
        .containsExactlyInAnyOrder("1", "2");
    assertThat(snapshots.stream().map(MixedCpuScanTest::cpus)).containsExactlyInAnyOrder("1", "1", "2", "2");

    // Each snapshot's own CPU count picks its reference; without a reference of its size, the reason says so.
    ReferenceStore both = ReferenceStore.open(dataset);
    ReferenceStore oneCpuOnly = ReferenceStore.open(DefaultDataset.references(dataset,
        r -> cpus(r).equals("1"), work.resolve("one-cpu-references")));
    for (ManifestEntry e : snapshots) {
      try (Snapshot snapshot = Snapshots.open(dataset.resolve(e.getPath()))) {
        GuestKernel kernel = GuestKernel.locate(snapshot);
        assertThat(both.require(kernel).id()).isEqualTo(BUILD + "/reference-" + cpus(e) + "cpu");
        if (cpus(e).equals("2")) {
          assertThatThrownBy(() -> oneCpuOnly.require(kernel)).isInstanceOf(ReferenceNotFoundException.class)
              .hasMessageContaining("the snapshot has 2 possible CPUs")
              .hasMessageContaining("the references of its build have 1");
        } else {
          assertThat(oneCpuOnly.require(kernel).id()).isEqualTo(BUILD + "/reference-1cpu");
        }
      }
    }

    Path out = work.resolve("out");
    Path store = work.resolve("metadata");
    int pairs = snapshots.size() * Tools.ALL.size();
    Map<String, Long> cold = ScanDatasetTest.scan(ScanTargets.fromManifest(dataset), dataset, store, out, COLD,
        FastPath.TRANSLATE_AFTER);
    assertThat(cold).containsEntry(ScanCounters.IDENTIFIED, (long) snapshots.size())
        .containsEntry(ScanCounters.TRAINED, (long) Tools.ALL.size()).doesNotContainKeys(ScanCounters.FAILED,
            ScanCounters.IDENTIFY_FAILED);
    assertThat(cold.getOrDefault(ScanCounters.OK_FAST, 0L) + cold.getOrDefault(ScanCounters.OK_SLOW, 0L))
        .isEqualTo(pairs);
    // One unit per tool for the build, whichever reference trained it, answers every snapshot of both sizes.
    Map<String, Long> warm = ScanDatasetTest.scan(ScanTargets.fromManifest(dataset), dataset, store, out, WARM, 3);
    assertThat(warm).containsEntry(ScanCounters.OK_FAST, (long) pairs).doesNotContainKeys(ScanCounters.FAILED,
        ScanCounters.OK_SLOW, ScanCounters.TRAINED, ScanCounters.FALLBACKS);
    Map<?, TrainingMetadata> units = new MetadataDirectory(store).read().units();
    assertThat(units).hasSize(Tools.ALL.size());
    units.values().forEach(u -> System.out.printf("FIGURE %s: trained on %s and %s, snapshots %s%n", u.getTool(),
        u.getProvenance().getReference(), u.getProvenance().getMoreReferences(), u.getProvenance().getSnapshots()));

    try (Duck sql = new Duck(out)) {
      for (LocalDate night : List.of(COLD, WARM)) {
        for (ManifestEntry e : snapshots) {
          assertThat(sql.value("SELECT reference_id FROM {t:snapshots} WHERE scan_date = DATE '" + night
              + "' AND snapshot_id = '" + e.getId() + "'")).isEqualTo(BUILD + "/reference-" + cpus(e) + "cpu");
        }
      }
      // The metadata table names every reference a unit's runs ran on, as the store does.
      for (TrainingMetadata unit : units.values()) {
        assertThat(sql.rows("SELECT DISTINCT reference_id, array_to_string(more_references, ',') FROM {t:metadata}"
            + " WHERE scan_date = DATE '" + WARM + "' AND tool = '" + unit.getTool() + "'")).containsExactly(
            List.of(unit.getProvenance().getReference(), String.join(",", unit.getProvenance().getMoreReferences())));
      }
    }
    List<String> wrong = new ArrayList<>();
    for (LocalDate night : List.of(COLD, WARM)) {
      for (InspectionTool tool : Tools.ALL) {
        List<SpecificRecord> rows = rows(out, night, tool.table());
        for (ManifestEntry e : snapshots) {
          RowContext context = new RowContext(e.getId(), e.getVmId(), e.getKernelBuild());
          Path truth = dataset.resolve(e.getGroundTruthPath());
          // A table's rows have no order: put them in the guest's, so that rows equal to its are in place.
          List<String> guestOrder = tool.run(CapturedKernel.open(truth), context).stream().map(Object::toString)
              .toList();
          List<SpecificRecord> ofSnapshot = rows.stream().filter(r -> e.getId().equals(String.valueOf(
              r.get(r.getSchema().getField("snapshot_id").pos()))))
              .sorted(Comparator.comparing(r -> guestOrder.indexOf(r.toString()))).toList();
          GroundTruth.differences(tool, ofSnapshot, truth, context)
              .forEach(d -> wrong.add(night + " " + e.getId() + " (" + cpus(e) + " CPUs): " + d));
        }
      }
    }
    assertThat(wrong).as("rows other than what the guest printed").isEmpty();
  }

  private static String cpus(ManifestEntry e) {
    return e.getLabels().get("cpus");
  }

  /** The rows the scan of {@code night} wrote to {@code table}, as the records they were written from. */
  private static List<SpecificRecord> rows(Path out, LocalDate night, String table) throws Exception {
    List<SpecificRecord> rows = new ArrayList<>();
    try (Stream<Path> files = Files.list(out.resolve("scan_date=" + night).resolve(table))) {
      for (Path file : files.filter(f -> f.toString().endsWith(".parquet")).toList()) {
        try (ParquetReader<SpecificRecord> reader = AvroParquetReader.<SpecificRecord>builder(HadoopInputFile
            .fromPath(new org.apache.hadoop.fs.Path(file.toUri()), new Configuration()))
            .withDataModel(SpecificData.get()).build()) {
          for (SpecificRecord row = reader.read(); row != null; row = reader.read()) {
            rows.add(row);
          }
        }
      }
    }
    return rows;
  }
}
