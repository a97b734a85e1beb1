package io.hybridbridge.fastexec;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The audit sample: chosen by the snapshot id alone, the size the rate asks for. */
class AuditSampleTest {
  @Test
  void theSampleIsDeterministicAndItsSizeFollowsTheRate() {
    long sampled = IntStream.range(0, 20_000).filter(i -> Inspector.sampled("vm" + i + "/dump", 0.1)).count();
    assertThat(sampled).isBetween(1_800L, 2_200L);
    for (int i = 0; i < 1000; i++) {
      assertThat(Inspector.sampled("vm" + i, 0.3)).isEqualTo(Inspector.sampled("vm" + i, 0.3));
      assertThat(Inspector.sampled("vm" + i, 0)).isFalse();
      assertThat(Inspector.sampled("vm" + i, 1)).isTrue();
      // a larger rate keeps every snapshot of a smaller one
      if (Inspector.sampled("vm" + i, 0.2)) {
        assertThat(Inspector.sampled("vm" + i, 0.5)).isTrue();
      }
    }
  }
}
