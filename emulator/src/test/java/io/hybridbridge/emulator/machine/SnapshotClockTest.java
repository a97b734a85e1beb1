package io.hybridbridge.emulator.machine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * The clock rule on a model of the kernel's timekeeping ({@code base + ((tsc - cycle_last) * mult >> shift)},
 * negative deltas clamped to 0): the search finds cycle_last to within the TSC ticks of one nanosecond, and a
 * clock that does not follow the TSC at tsc_khz is refused. The real kernels are in ReferenceSyscallsTest.
 */
class SnapshotClockTest {
  private static final long KHZ = 2_494_000; // a 2.494 GHz TSC
  private static final int SHIFT = 24;
  private static final long MULT = Math.round((1e6 / KHZ) * (1L << SHIFT));

  private static SnapshotClock.KernelTime kernel(long cycleLast, long baseNanos, long mult) {
    return tsc -> {
      long delta = tsc - cycleLast;
      return baseNanos + (delta < 0 ? 0 : (delta * mult) >>> SHIFT);
    };
  }

  @Test
  void findsTheLastTimekeepingUpdate() throws Exception {
    for (long cycleLast : new long[] {1, 1L << 20, 32_112_345_678L, 987_654_321_012_345L}) {
      long found = SnapshotClock.lastUpdate(kernel(cycleLast, 13_200_000_000L, MULT), KHZ);
      assertThat(found).as("cycle_last %d", cycleLast).isBetween(cycleLast, cycleLast + KHZ / 1_000_000 + 1);
    }
  }

  @Test
  void findsTheKneeOfABootInAFewCalls() throws Exception {
    long cycleLast = 6 * KHZ * 1000 + 12_345; // 6 s into a boot
    int[] calls = {0};
    SnapshotClock.KernelTime counted = tsc -> {
      calls[0]++;
      return kernel(cycleLast, 6_000_000_000L, MULT).at(tsc);
    };
    assertThat(SnapshotClock.lastUpdate(counted, KHZ)).isBetween(cycleLast, cycleLast + KHZ / 1_000_000 + 1);
    assertThat(calls[0]).as("calls of clock_gettime (a bisection alone takes ≈ 50)").isLessThanOrEqualTo(20);
  }

  @Test
  void refusesAClockThatIgnoresTheTsc() {
    assertThatThrownBy(() -> SnapshotClock.lastUpdate(tsc -> 42, KHZ)).isInstanceOf(MachineException.class)
        .hasMessageContaining("does not follow the TSC");
  }

  @Test
  void refusesAClockRunningAtAnotherRate() {
    assertThatThrownBy(() -> SnapshotClock.lastUpdate(kernel(5_000_000, 0, MULT * 105 / 100), KHZ))
        .isInstanceOf(MachineException.class).hasMessageContaining("not one second");
    assertThatThrownBy(() -> SnapshotClock.lastUpdate(kernel(5_000_000, 0, MULT), 0))
        .hasMessageContaining("not a TSC rate");
  }
}
