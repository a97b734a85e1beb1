package io.hybridbridge.taint.slowpath;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.kernel.KernelLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The shadow call stack beyond the frames it first makes room for, and beyond the most it keeps. */
class CallContextTest {
  private static final long TEXT = 0xffffffffa0000000L;
  private static final KernelLayout LAYOUT = new KernelLayout(4, 0x1000, TEXT, 0x6400000, 0x2a00000,
      0xffff8d2040000000L, 0xffffa00000000000L, 0xffffe00000000000L, List.of());
  private static final long STACK = 0xffffc90000400000L;

  /** Frame k's return address as the context records it (KASLR-free). */
  private static long returnOf(int k) {
    return TEXT + k - LAYOUT.slide();
  }

  /** Calls {@code n} frames deep: frame k returns to TEXT + k, its slot 8 bytes below frame k-1's. */
  private static CallContext calls(int n) {
    CallContext calls = new CallContext(LAYOUT);
    for (int k = 1; k <= n; k++) {
      calls.call(TEXT + k, STACK - 8L * k);
    }
    return calls;
  }

  @Test
  void aDeepStackKeepsItsFramesAndReturnsThroughThem() {
    CallContext calls = calls(1000);
    long deep = calls.context(TEXT);
    assertThat(calls.innermost(3)).containsExactly(returnOf(1000), returnOf(999), returnOf(998));
    calls.ret(STACK - 8L * 1000); // back into frame 999
    assertThat(calls.innermost(1)).containsExactly(returnOf(999));
    calls.ret(STACK - 8L * 11); // back into frame 10: every frame below is gone
    assertThat(calls.innermost(2)).containsExactly(returnOf(10), returnOf(9));
    assertThat(calls.context(TEXT)).isEqualTo(calls(10).context(TEXT)).isNotEqualTo(deep);
  }

  @Test
  void beyondTheMostFramesItKeepsTheInnermost() {
    CallContext calls = calls(5000);
    assertThat(calls.innermost(2)).containsExactly(returnOf(5000), returnOf(4999));
    assertThat(calls.context(TEXT)).isEqualTo(calls(5000).context(TEXT));
    calls.ret(STACK - 8L * 5000 + 8L * 4095); // the outermost frame it kept, returned from
    assertThat(calls.innermost(1)).isEmpty();
  }
}
