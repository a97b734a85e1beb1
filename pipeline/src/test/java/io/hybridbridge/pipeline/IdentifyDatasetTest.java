package io.hybridbridge.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.kernel.GuestKernel;
import io.hybridbridge.emulator.kernel.KernelIdentity;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.ScanOutcome;
import io.hybridbridge.schemas.ScanTarget;
import io.hybridbridge.schemas.SnapshotRef;
import io.hybridbridge.schemas.SnapshotRole;
import io.hybridbridge.schemas.StatusRow;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.apache.beam.sdk.Pipeline;
import org.apache.beam.sdk.PipelineResult;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.testing.PAssert;
import org.apache.beam.sdk.testing.TestPipeline;
import org.apache.beam.sdk.transforms.Create;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Identification on the real default dataset, plus bad inputs made from its real snapshots: a truncated copy, a
 * copy with a wrong magic number, a copy whose memory is gone (headers only, sparse), a path that does not exist,
 * and — with a reference store that lacks one build — snapshots of a build without a reference. Every good snapshot
 * is identified with its build and reference; every bad one becomes a FAILED status row with its specific reason;
 * the job finishes; the Parquet tables say so through SQL.
 */
@Tag("dataset")
class IdentifyDatasetTest {
  private static final LocalDate DAY = LocalDate.of(2025, 7, 1);
  private static final String NEWER_BUILD = "6.12.95+deb12-amd64";

  @TempDir static Path work;
  private static List<ScanTarget> good;
  private static List<ScanTarget> bad;

  @BeforeAll
  static void inputs() throws Exception {
    good = ScanTargets.fromManifest(DefaultDataset.directory());
    Path elf = DefaultDataset.path(DefaultDataset.first("ELF"));
    bad = List.of(
        target("truncated", DefaultDataset.truncatedCopy(elf, 16 << 20, work.resolve("truncated.elf"))),
        target("wrong-magic", DefaultDataset.sparseCopy(elf, 1 << 20, "\u007fXLF".getBytes(StandardCharsets.ISO_8859_1),
            work.resolve("wrong-magic.elf"))),
        target("no-memory", DefaultDataset.sparseCopy(elf, 64 << 10, new byte[0], work.resolve("no-memory.elf"))),
        target("missing", work.resolve("missing.elf")));
  }

  @Test
  void identifiesEveryGoodSnapshotAndDeadLettersEveryBadOne() throws Exception {
    Map<String, ManifestEntry> manifest = DefaultDataset.entries(SnapshotRole.SNAPSHOT).stream()
        .collect(Collectors.toMap(ManifestEntry::getId, e -> e));
    assertThat(good).hasSize(manifest.size()).hasSizeGreaterThanOrEqualTo(3);

    Pipeline p = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    PCollectionTuple out = p.apply(Create.of(all()).withCoder(AvroCoder.of(ScanTarget.class)))
        .apply(Identify.against(DefaultDataset.directory()));
    PAssert.that(out.get(Identify.IDENTIFIED)).satisfies(identified -> {
      List<KV<String, SnapshotRef>> all = list(identified);
      assertThat(all).extracting(kv -> kv.getValue().getTarget().getId())
          .containsExactlyInAnyOrderElementsOf(manifest.keySet());
      for (KV<String, SnapshotRef> kv : all) {
        SnapshotRef snapshot = kv.getValue();
        ManifestEntry entry = manifest.get(snapshot.getTarget().getId());
        assertThat(snapshot.getKernelBuild()).as(entry.getId()).isEqualTo(entry.getKernelBuild());
        assertThat(kv.getKey()).isEqualTo(snapshot.getBuildId()).matches("[0-9a-f]{40}");
        assertThat(snapshot.getReferenceId()).isEqualTo(entry.getKernelBuild() + "/reference");
        assertThat(snapshot.getFormat()).isEqualTo(entry.getFormat().name());
        assertThat(snapshot.getSizeBytes()).isEqualTo(entry.getSizeBytes());
        assertThat(snapshot.getBanner()).startsWith("Linux version " + entry.getKernelBuild() + " ");
        assertThat(snapshot.getTarget().getVmId()).isEqualTo(entry.getVmId());
      }
      // One build-id per build name: the key groups exactly the snapshots of one kernel binary.
      assertThat(all.stream().collect(Collectors.groupingBy(kv -> kv.getValue().getKernelBuild(),
          Collectors.mapping(KV::getKey, Collectors.toSet())))).allSatisfy((b, ids) -> assertThat(ids).hasSize(1));
      return null;
    });
    PAssert.that(out.get(Identify.FAILED)).satisfies(failed -> {
      Map<String, StatusRow> byId = list(failed).stream()
          .collect(Collectors.toMap(StatusRow::getSnapshotId, r -> r));
      assertThat(byId.keySet()).containsExactlyInAnyOrder("truncated", "wrong-magic", "no-memory", "missing");
      assertThat(byId.values()).allSatisfy(r -> {
        assertThat(r.getOutcome()).isEqualTo(ScanOutcome.FAILED);
        assertThat(r.getTool()).isNull();
        assertThat(r.getKernelBuild()).isNull();
        assertThat(r.getPath()).startsWith(work.toString());
      });
      assertThat(byId.get("truncated").getFailureKind()).isEqualTo("TRUNCATED");
      assertThat(byId.get("truncated").getReason()).contains("truncated.elf");
      assertThat(byId.get("wrong-magic").getFailureKind()).isEqualTo("UNKNOWN_FORMAT");
      assertThat(byId.get("wrong-magic").getReason()).contains("not an ELF core, kdump or LiME file");
      assertThat(byId.get("no-memory").getFailureKind()).isEqualTo(StatusRows.KERNEL_NOT_FOUND);
      assertThat(byId.get("missing").getFailureKind()).isEqualTo(StatusRows.UNREADABLE);
      assertThat(byId.get("missing").getReason()).contains("NoSuchFileException");
      return null;
    });
    PipelineResult result = p.run();
    assertThat(result.waitUntilFinish()).isEqualTo(PipelineResult.State.DONE);
    assertThat(ScanCounters.read(result)).containsEntry(ScanCounters.IDENTIFIED, (long) good.size())
        .containsEntry(ScanCounters.IDENTIFY_FAILED, (long) bad.size());
  }

  @Test
  void aScanAgainstAReferenceStoreWithoutOneBuildReportsItsSnapshotsAndGoesOn() throws Exception {
    Path references = DefaultDataset.referencesWithout(NEWER_BUILD, work.resolve("references"));
    Path out = work.resolve("out");
    Pipeline p = TestPipeline.create().enableAbandonedNodeEnforcement(false);
    p.apply(Create.of(all()).withCoder(AvroCoder.of(ScanTarget.class)))
        .apply(Scan.identifyOnly(references, ParquetTables.write(out.toString(), DAY)));
    assertThat(p.run().waitUntilFinish()).isEqualTo(PipelineResult.State.DONE);

    long newer = good.stream().filter(t -> t.getId().startsWith(NEWER_BUILD + "/")).count();
    assertThat(newer).isPositive();
    try (Duck sql = new Duck(out)) {
      assertThat(sql.rows("SELECT kernel_build, count(*) FROM {t:snapshots} GROUP BY ALL ORDER BY 1"))
          .containsExactly(List.of("6.1.0-53-amd64", "5"), List.of("6.1.0-53-cloud-amd64", "5"));
      assertThat(sql.rows("SELECT DISTINCT reference_id FROM {t:snapshots} ORDER BY 1"))
          .containsExactly(List.of("6.1.0-53-amd64/reference"), List.of("6.1.0-53-cloud-amd64/reference"));
      assertThat(sql.rows("SELECT failure_kind, count(*), count(DISTINCT kernel_build), count(build_id)"
          + " FROM {t:status} GROUP BY ALL ORDER BY 1")).containsExactly(
          List.of("KERNEL_NOT_FOUND", "1", "0", "0"),
          List.of("NO_REFERENCE", String.valueOf(newer), "1", String.valueOf(newer)),
          List.of("TRUNCATED", "1", "0", "0"),
          List.of("UNKNOWN_FORMAT", "1", "0", "0"),
          List.of("UNREADABLE", "1", "0", "0"));
      assertThat(sql.value("SELECT min(reason) FROM {t:status} WHERE failure_kind = 'NO_REFERENCE'"))
          .contains("no reference for kernel build " + NEWER_BUILD).contains(references.toString());
      assertThat(sql.value("SELECT count(*) FROM {t:status} WHERE tool IS NOT NULL OR outcome <> 'FAILED'"))
          .isEqualTo("0");
      // Nothing disappeared: every listed snapshot is in exactly one of the two tables.
      assertThat(sql.value("SELECT count(*) FROM (SELECT snapshot_id FROM {t:snapshots} UNION ALL"
          + " SELECT snapshot_id FROM {t:status})")).isEqualTo(String.valueOf(good.size() + bad.size()));
      assertThat(sql.value("SELECT CAST(min(scan_date) AS VARCHAR) FROM {t:snapshots}")).isEqualTo(DAY.toString());
    }
  }

  @Test
  void aSnapshotReadThroughBeamFileSystemsHasTheSameIdentityAsMemoryMapped() throws Exception {
    for (String format : List.of("ELF", "KDUMP")) {
      Path path = DefaultDataset.path(DefaultDataset.first(format));
      KernelIdentity mapped;
      KernelIdentity channel;
      try (Snapshot snapshot = SnapshotFiles.open(path.toString())) {
        mapped = GuestKernel.locate(snapshot).identity();
      }
      try (Snapshot snapshot = SnapshotFiles.openThroughBeam(path.toUri().toString())) {
        assertThat(snapshot.name()).startsWith("file:");
        channel = GuestKernel.locate(snapshot).identity();
      }
      assertThat(channel).as(format).isEqualTo(mapped);
    }
  }

  private static List<ScanTarget> all() {
    List<ScanTarget> all = new ArrayList<>(good);
    all.addAll(bad);
    return all;
  }

  private static ScanTarget target(String id, Path path) {
    return ScanTarget.newBuilder().setId(id).setPath(path.toString()).build();
  }

  private static <T> List<T> list(Iterable<T> items) {
    return StreamSupport.stream(items.spliterator(), false).toList();
  }
}
