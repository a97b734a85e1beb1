package io.hybridbridge.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.tuple;

import io.hybridbridge.schemas.ContextDecision;
import io.hybridbridge.schemas.MetadataEntry;
import io.hybridbridge.schemas.MetadataProvenance;
import io.hybridbridge.schemas.MetadataRow;
import io.hybridbridge.schemas.RedirectDecision;
import io.hybridbridge.schemas.TrainingMetadata;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The conversion of training metadata into rows of table {@code metadata} (a hand-made unit: no parser involved). */
class MetadataRowsTest {
  @Test
  void oneRowPerEntryWithItsSymbolDecisionContextsAndTheUnitsProvenance() {
    TrainingMetadata unit = TrainingMetadata.newBuilder()
        .setFormatVersion(1).setKernelBuild("6.1.0-53-amd64").setBuildId("abc123").setTool("ps").setContextDepth(4)
        .setContextHash("splitmix64-chain-region-v2")
        .setEntries(List.of(
            MetadataEntry.newBuilder().setPcOffset(0xffffffff81100010L).setOperand(1)
                .setDecision(RedirectDecision.REDIRECT).setLocalCount(0).setRedirectCount(12)
                .setContexts(List.of(new ContextDecision(7L, RedirectDecision.REDIRECT))).build(),
            MetadataEntry.newBuilder().setPcOffset(0xffffffff81200000L).setOperand(-3)
                .setDecision(RedirectDecision.MIXED).setLocalCount(5).setRedirectCount(6)
                .setContexts(List.of(new ContextDecision(1L, RedirectDecision.LOCAL),
                    new ContextDecision(2L, RedirectDecision.REDIRECT), new ContextDecision(3L, RedirectDecision.MIXED)))
                .build()))
        .setProvenance(MetadataProvenance.newBuilder().setVersion(2).setReference("6.1.0-53-amd64/reference")
            .setSnapshots(List.of("vm1/dump1", "vm2/dump3")).setRuns(3).setInstructions(1000).setMemoryAccesses(100)
            .setRedirectedAccesses(18).setProducer("test").setCreatedMillis(1_700_000_000_000L).build())
        .build();

    List<MetadataRow> rows = MetadataRows.of(unit, "6.1.0-53-amd64", 5, pc -> pc == 0xffffffff81100010L
        ? Optional.of("do_task_stat+0x10") : Optional.empty());

    assertThat(rows).extracting(MetadataRow::getPcOffset, MetadataRow::getSymbol, MetadataRow::getOperand,
        MetadataRow::getDecision, MetadataRow::getLocalCount, MetadataRow::getRedirectCount, MetadataRow::getContexts,
        MetadataRow::getMixedContexts).containsExactly(
        tuple(0xffffffff81100010L, "do_task_stat+0x10", 1, "REDIRECT", 0L, 12L, 1, 0),
        tuple(0xffffffff81200000L, null, -3, "MIXED", 5L, 6L, 3, 1));
    assertThat(rows).allSatisfy(row -> {
      assertThat(row.getKernelBuild()).isEqualTo("6.1.0-53-amd64");
      assertThat(row.getBuildId()).isEqualTo("abc123");
      assertThat(row.getTool()).isEqualTo("ps");
      assertThat(row.getStoreVersion()).isEqualTo(5);
      assertThat(row.getReferenceId()).isEqualTo("6.1.0-53-amd64/reference");
      assertThat(row.getTrainedOn()).containsExactly("vm1/dump1", "vm2/dump3");
      assertThat(row.getTrainingRuns()).isEqualTo(3);
      assertThat(row.getTrainedMillis()).isEqualTo(1_700_000_000_000L);
    });
  }
}
