package io.hybridbridge.fastexec;

import static io.hybridbridge.fastexec.Units.context;
import static io.hybridbridge.fastexec.Units.entry;
import static io.hybridbridge.schemas.RedirectDecision.LOCAL;
import static io.hybridbridge.schemas.RedirectDecision.MIXED;
import static io.hybridbridge.schemas.RedirectDecision.REDIRECT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.emulator.cpu.MemoryAccess;
import io.hybridbridge.schemas.MetadataEntry;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.MetadataException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The compiled table: decisions by runtime pc and operand, contexts of mixed entries, what it refuses. */
class DecisionTableTest {
  private static final long SLIDE = 0x1e600000L;
  private static final long PC = 0xffffffff81234560L;

  private static int decide(DecisionTable t, long pc, int operand, long context) {
    int slot = t.find(pc, operand);
    if (slot == DecisionTable.ABSENT) {
      return DecisionTable.ABSENT;
    }
    int d = t.decision(slot);
    return d >= DecisionTable.MIXED ? t.decide(d, context) : d;
  }

  @Test
  void decisionsAreFoundAtTheRuntimePcOfTheReferenceBoot() throws Exception {
    TrainingMetadata m = Units.metadata("b1", "ps", "s",
        entry(PC, 0, LOCAL), entry(PC, 1, REDIRECT), entry(PC + 4, MemoryAccess.STRING_SOURCE, REDIRECT),
        entry(PC + 4, MemoryAccess.STRING_DESTINATION, LOCAL),
        entry(PC + 9, 1, MIXED, context(7, LOCAL), context(-3, REDIRECT), context(11, MIXED)));
    DecisionTable t = DecisionTable.compile(m, SLIDE);
    assertThat(t.size()).isEqualTo(5);
    assertThat(t.mixedEntries()).isEqualTo(1);
    assertThat(decide(t, PC + SLIDE, 0, 0)).isEqualTo(DecisionTable.LOCAL);
    assertThat(decide(t, PC + SLIDE, 1, 0)).isEqualTo(DecisionTable.REDIRECT);
    assertThat(decide(t, PC + 4 + SLIDE, MemoryAccess.STRING_SOURCE, 0)).isEqualTo(DecisionTable.REDIRECT);
    assertThat(decide(t, PC + 4 + SLIDE, MemoryAccess.STRING_DESTINATION, 0)).isEqualTo(DecisionTable.LOCAL);
    // the KASLR-free offset itself is not the runtime pc, another operand is another entry
    assertThat(decide(t, PC, 0, 0)).isEqualTo(DecisionTable.ABSENT);
    assertThat(decide(t, PC + SLIDE, 2, 0)).isEqualTo(DecisionTable.ABSENT);
    // a mixed entry: by context; unseen and both-ways contexts are told apart
    assertThat(decide(t, PC + 9 + SLIDE, 1, 7)).isEqualTo(DecisionTable.LOCAL);
    assertThat(decide(t, PC + 9 + SLIDE, 1, -3)).isEqualTo(DecisionTable.REDIRECT);
    assertThat(decide(t, PC + 9 + SLIDE, 1, 12)).isEqualTo(DecisionTable.UNSEEN);
    assertThat(decide(t, PC + 9 + SLIDE, 1, 11)).isEqualTo(DecisionTable.AMBIGUOUS);
  }

  @Test
  void thousandsOfEntriesWithCollidingHashesAreAllFound() throws Exception {
    List<MetadataEntry> entries = new ArrayList<>();
    for (int i = 0; i < 5000; i++) {
      entries.add(entry(PC + 3L * i, i % 3, i % 2 == 0 ? LOCAL : REDIRECT));
    }
    DecisionTable t = DecisionTable.compile(Units.metadata("b1", "ps", "s", entries.toArray(new MetadataEntry[0])),
        SLIDE);
    for (int i = 0; i < 5000; i++) {
      assertThat(decide(t, PC + 3L * i + SLIDE, i % 3, 0)).isEqualTo(i % 2 == 0 ? DecisionTable.LOCAL
          : DecisionTable.REDIRECT);
      assertThat(decide(t, PC + 3L * i + SLIDE, (i + 1) % 3, 0)).isEqualTo(DecisionTable.ABSENT);
    }
  }

  @Test
  void metadataOfAnotherContextFunctionOrWithRepeatedEntriesIsRefused() {
    TrainingMetadata other = TrainingMetadata.newBuilder(Units.metadata("b1", "ps", "s", entry(PC, 0, LOCAL)))
        .setContextHash("splitmix64-chain-v1").build();
    assertThatThrownBy(() -> DecisionTable.compile(other, SLIDE)).isInstanceOf(MetadataException.class)
        .hasMessageContaining("splitmix64-chain-v1");
    TrainingMetadata twice = Units.metadata("b1", "ps", "s", entry(PC, 0, LOCAL), entry(PC, 0, REDIRECT));
    assertThatThrownBy(() -> DecisionTable.compile(twice, SLIDE)).isInstanceOf(MetadataException.class)
        .hasMessageContaining("twice");
  }
}
