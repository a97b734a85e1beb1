package io.hybridbridge.runners.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class MemorySamplerTest {
  private static final long SELF = ProcessHandle.current().pid();

  @Test
  void readsResidentMemoryAndCpuTimeOfALiveProcessAndNothingOfAMissingOne() {
    assertThat(MemorySampler.residentBytes(SELF)).hasValueSatisfying(rss -> assertThat(rss).isGreaterThan(1 << 20));
    assertThat(MemorySampler.cpuTicks(SELF)).hasValueSatisfying(ticks -> assertThat(ticks).isPositive());
    assertThat(MemorySampler.residentBytes(Integer.MAX_VALUE)).isEmpty();
    assertThat(MemorySampler.cpuTicks(Integer.MAX_VALUE)).isEmpty();
  }

  @Test
  void countsTheCpuSpentWhileSampling() {
    MemorySampler.Peaks peaks;
    try (MemorySampler sampler = new MemorySampler(
        List.of(new MemorySampler.Worker("self", () -> Optional.of(SELF))), null)) {
      long end = System.nanoTime() + 1_500_000_000L;
      long spin = 0;
      while (System.nanoTime() < end) {
        spin += 1 + Long.numberOfTrailingZeros(spin); // a busy second and a half
      }
      assertThat(spin).isPositive();
      peaks = sampler.peaks();
    }
    assertThat(peaks.rssBytes()).containsKey("self");
    assertThat(peaks.heapBytes()).isEmpty();
    assertThat(peaks.cpuSeconds()).isGreaterThan(0.05); // even on a crowded machine some of it ran
  }
}
