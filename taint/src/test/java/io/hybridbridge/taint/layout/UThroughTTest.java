package io.hybridbridge.taint.layout;

import static io.hybridbridge.taint.testing.SyntheticKernel.T_LAYOUT;
import static io.hybridbridge.taint.testing.SyntheticKernel.T_UNITS;
import static io.hybridbridge.taint.testing.SyntheticKernel.U_LAYOUT;
import static io.hybridbridge.taint.testing.SyntheticKernel.U_UNITS;
import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.taint.testing.SyntheticKernel;
import org.junit.jupiter.api.Test;

/** U through T's layout: reads that come back to pages already mapped, whose shifts are remembered. */
class UThroughTTest {
  @Test
  void readsAgainInPagesMappedBeforeFindTheirOwnSlotsAndRebasePointers() throws Exception {
    SyntheticKernel kernel = new SyntheticKernel();
    LayoutBridge bridge = kernel.uSpace.bridge();
    assertThat(bridge.pageGranular()).isTrue();
    long direct = T_LAYOUT.pageOffsetBase() + 0x600000;
    long[] addresses = {direct, direct + 8, direct + 0xff8, direct + 0x1000, T_UNITS.base(0) + 0x2100,
        T_UNITS.base(0) + 0x2108, T_LAYOUT.textBase() + 0x123450, direct + 16};
    long[] values = {U_LAYOUT.pageOffsetBase() + 0x5000, 42, U_LAYOUT.textBase() + 0x10,
        U_LAYOUT.pageOffsetBase() + 0x5008, U_UNITS.base(0) + 0x40, -1L, U_LAYOUT.vmallocBase() + 0x2000,
        U_LAYOUT.pageOffsetBase() + 0x5ff8};
    for (int i = 0; i < addresses.length; i++) {
      kernel.uImage.putLong(bridge.addressToU(addresses[i]), values[i]);
    }
    for (int round = 0; round < 2; round++) {
      for (int i = 0; i < addresses.length; i++) {
        assertThat(kernel.uSpace.read(addresses[i], 8)).as("round %d, 0x%x", round, addresses[i])
            .isEqualTo(bridge.valueToT(values[i]));
        assertThat(kernel.uSpace.read(addresses[i], 4)).as("round %d, 0x%x, 4 bytes", round, addresses[i])
            .isEqualTo(values[i] & 0xffff_ffffL);
      }
    }
  }
}
