package io.hybridbridge.runners.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.pipeline.ParquetTables;
import io.hybridbridge.pipeline.Scan;
import io.hybridbridge.schemas.ScanOutcome;
import io.hybridbridge.schemas.StatusRow;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The status table as a scan writes it (Avro StatusRow in Parquet), read back into per-snapshot times. */
class StatusLatenciesTest {
  private static final LocalDate NIGHT = LocalDate.of(2000, 1, 1);

  @Test
  void sumsToolsPerSnapshotCountsOutcomesAndCountsACopiedFileOnce(@TempDir Path out) throws Exception {
    Path dir = Files.createDirectories(ParquetTables.tableDir(out, NIGHT, Scan.STATUS));
    try (ParquetWriter<StatusRow> writer = AvroParquetWriter.<StatusRow>builder(HadoopOutputFile.fromPath(
        new org.apache.hadoop.fs.Path(dir.resolve("part-0.parquet").toUri()), new Configuration()))
        .withSchema(StatusRow.getClassSchema()).build()) {
      writer.write(row("a", "/f/a", "ps", ScanOutcome.OK_FAST, 100, 0));
      writer.write(row("a", "/f/a", "lsmod", ScanOutcome.OK_SLOW, 300, 2));
      writer.write(row("b", "/f/b", "ps", ScanOutcome.OK_FAST, 50, 0));
      writer.write(row("b@clone2", "/f/b", "ps", ScanOutcome.OK_FAST, 50, 0)); // copied from b
      writer.write(row("c", "/f/c", "ps", ScanOutcome.FAILED, 1000, 1));
      writer.write(row("d", "/f/d", null, ScanOutcome.FAILED, 0, 0)); // failed before any tool
    }
    StatusLatencies l = StatusLatencies.read(out, NIGHT);
    assertThat(l.perSnapshotMillis()).containsExactly(50L, 50L, 400L, 1000L);
    assertThat(l.perFileMillis()).containsExactly(50L, 400L, 1000L);
    assertThat(l.toolSeconds()).isEqualTo(1.45);
    assertThat(l.percentile(50)).isEqualTo(50);
    assertThat(l.percentile(95)).isEqualTo(1000);
    assertThat(l.okFast()).isEqualTo(3);
    assertThat(l.okSlow()).isEqualTo(1);
    assertThat(l.failed()).isEqualTo(2);
    assertThat(l.fallbacks()).isEqualTo(3);
  }

  @Test
  void aMissingTableIsAClearError(@TempDir Path out) {
    assertThatThrownBy(() -> StatusLatencies.read(out, NIGHT)).isInstanceOf(BenchException.class)
        .hasMessageContaining("no status table");
  }

  private static StatusRow row(String id, String path, String tool, ScanOutcome outcome, long ms, int fallbacks) {
    return StatusRow.newBuilder().setSnapshotId(id).setVmId("vm").setPath(path).setTool(tool).setOutcome(outcome)
        .setWallMs(ms).setInstructions(0).setRedirectedInstructions(0).setFallbacks(fallbacks).build();
  }
}
