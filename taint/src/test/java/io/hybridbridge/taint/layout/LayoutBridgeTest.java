package io.hybridbridge.taint.layout;

import static io.hybridbridge.taint.testing.SyntheticKernel.T_LAYOUT;
import static io.hybridbridge.taint.testing.SyntheticKernel.T_UNITS;
import static io.hybridbridge.taint.testing.SyntheticKernel.U_LAYOUT;
import static io.hybridbridge.taint.testing.SyntheticKernel.U_UNITS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.emulator.kernel.KernelLayout;
import java.util.List;
import org.junit.jupiter.api.Test;

/** U seen through T's layout: each region both ways, per-CPU units first. */
class LayoutBridgeTest {
  private final LayoutBridge bridge = new LayoutBridge(T_LAYOUT, T_UNITS, U_LAYOUT, U_UNITS);

  @Test
  void everyRandomisedRegionIsRebasedBothWays() throws Exception {
    long[][] pairs = {
      {U_LAYOUT.textBase() + 0x123458, T_LAYOUT.textBase() + 0x123458}, // image, by the slide difference
      {U_LAYOUT.pageOffsetBase() + 0x600008, T_LAYOUT.pageOffsetBase() + 0x600008}, // direct map: physical kept
      {U_LAYOUT.vmallocBase() + 0x10000, T_LAYOUT.vmallocBase() + 0x10000},
      {U_LAYOUT.vmemmapBase() + 0x40, T_LAYOUT.vmemmapBase() + 0x40},
      {U_UNITS.base(0) + 0x2100, T_UNITS.base(0) + 0x2100}, // per-CPU unit before the direct map
    };
    for (long[] p : pairs) {
      assertThat(bridge.valueToT(p[0])).as("0x%x to T", p[0]).isEqualTo(p[1]);
      assertThat(bridge.valueToU(p[1])).as("0x%x to U", p[1]).isEqualTo(p[0]);
      assertThat(bridge.addressToU(p[1])).as("address 0x%x", p[1]).isEqualTo(p[0]);
    }
  }

  @Test
  void valuesOutsideTheRandomisedRegionsPassUnchanged() {
    for (long v : new long[] {0, 42, 0x7fff12345678L, 0xffffffffc0123000L, -1L, 0xfffffe0000001000L}) {
      assertThat(bridge.valueToT(v)).isEqualTo(v);
      assertThat(bridge.valueToU(v)).isEqualTo(v);
    }
  }

  @Test
  void aPerCpuAddressIsUsBasePlusTheSameOffsetWhereverItLies() throws Exception {
    long offset = U_LAYOUT.vmallocBase() + 0x7000 - U_UNITS.base(0); // a chunk beyond the first
    assertThat(bridge.perCpuAddressToU(T_UNITS.base(0) + offset)).isEqualTo(U_LAYOUT.vmallocBase() + 0x7000);
    assertThat(bridge.perCpuAddressToU(T_UNITS.base(0) + 0x2100)).isEqualTo(U_UNITS.base(0) + 0x2100);
    PerCpuUnits unlike = new PerCpuUnits(List.of(U_UNITS.base(0), U_UNITS.base(0) + 0x9000), 0x4000, 0x1000);
    PerCpuUnits two = new PerCpuUnits(List.of(T_UNITS.base(0), T_UNITS.base(0) + 0x8000), 0x4000, 0x1000);
    LayoutBridge skewed = new LayoutBridge(T_LAYOUT, two, U_LAYOUT, unlike);
    assertThatThrownBy(() -> skewed.perCpuAddressToU(T_UNITS.base(0) + 8))
        .isInstanceOf(LayoutBridge.UnmappableAddressException.class).hasMessageContaining("not laid out alike");
  }

  /**
   * What lets {@link UThroughT} remember a page's shift: when the bridge says it maps whole pages alike, every
   * address of a page, around every bound of every rule, moves as the page's first address does (or none maps).
   */
  @Test
  void aPageGranularBridgeMovesEveryAddressOfAPageAlike() throws Exception {
    assertThat(bridge.pageGranular()).isTrue();
    List<Long> bounds = new java.util.ArrayList<>(List.of(0L, 1L << 63, KernelLayout.KERNEL_MAP_START,
        KernelLayout.KERNEL_MAP_END));
    for (KernelLayout layout : List.of(T_LAYOUT, U_LAYOUT)) {
      for (KernelLayout.Region region : KernelLayout.Region.values()) {
        bounds.add(layout.base(region));
      }
      bounds.addAll(List.of(layout.pageOffsetBase() + layout.directMapSize(),
          layout.vmallocBase() + layout.vmallocSize(), layout.vmemmapBase() + layout.vmemmapSize()));
    }
    for (PerCpuUnits units : List.of(T_UNITS, U_UNITS)) {
      units.bases().forEach(base -> bounds.addAll(List.of(base, base + units.unitSize())));
    }
    int pages = 0;
    for (long bound : bounds) {
      for (long page = (bound >>> 12) - 2; page <= (bound >>> 12) + 1; page++, pages++) {
        long first = page << 12;
        for (long next = first; next < first + 4096; next += 8) {
          long a = next;
          assertThat(bridge.valueToT(a) - a).as("valueToT 0x%x", a).isEqualTo(bridge.valueToT(first) - first);
          assertThat(bridge.valueToU(a) - a).as("valueToU 0x%x", a).isEqualTo(bridge.valueToU(first) - first);
          assertThat(shift(() -> bridge.addressToU(a), a)).as("addressToU 0x%x", a)
              .isEqualTo(shift(() -> bridge.addressToU(first), first));
          assertThat(shift(() -> bridge.perCpuAddressToU(a), a)).as("perCpuAddressToU 0x%x", a)
              .isEqualTo(shift(() -> bridge.perCpuAddressToU(first), first));
        }
      }
    }
    assertThat(pages).isGreaterThan(80);

    KernelLayout unaligned = new KernelLayout(4, 0x100000, T_LAYOUT.textBase() + 0x800, 0x1000000, 0x400000,
        T_LAYOUT.pageOffsetBase(), T_LAYOUT.vmallocBase(), T_LAYOUT.vmemmapBase(), T_LAYOUT.perCpuBases());
    assertThat(new LayoutBridge(unaligned, T_UNITS, U_LAYOUT, U_UNITS).pageGranular()).isFalse();
    PerCpuUnits oddUnits = new PerCpuUnits(T_UNITS.bases(), T_UNITS.unitSize() + 0x80, 0x1000);
    assertThat(new LayoutBridge(T_LAYOUT, oddUnits, U_LAYOUT, U_UNITS).pageGranular()).isFalse();
  }

  private interface Mapping {
    long map() throws LayoutBridge.UnmappableAddressException;
  }

  /** The shift {@code mapping} gives {@code address}, or null when it has no counterpart. */
  private static Long shift(Mapping mapping, long address) {
    try {
      return mapping.map() - address;
    } catch (LayoutBridge.UnmappableAddressException e) {
      return null;
    }
  }

  @Test
  void anImageAddressBelowTextHasNoCounterpart() {
    long belowText = T_LAYOUT.textBase() - 0x1000;
    assertThatThrownBy(() -> bridge.addressToU(belowText))
        .isInstanceOf(LayoutBridge.UnmappableAddressException.class).hasMessageContaining("no counterpart");
  }

  @Test
  void differentPagingModesCannotBeBridged() {
    var fiveLevels = new io.hybridbridge.emulator.kernel.KernelLayout(5, 0, U_LAYOUT.textBase(), 0, 0,
        U_LAYOUT.pageOffsetBase(), U_LAYOUT.vmallocBase(), U_LAYOUT.vmemmapBase(), U_LAYOUT.perCpuBases());
    assertThatThrownBy(() -> new LayoutBridge(T_LAYOUT, T_UNITS, fiveLevels, U_UNITS))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
