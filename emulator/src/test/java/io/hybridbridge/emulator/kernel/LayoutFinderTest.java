package io.hybridbridge.emulator.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.emulator.memory.PageTables;
import java.util.List;
import org.junit.jupiter.api.Test;

class LayoutFinderTest {
  private static void assertFakeLayout(KernelLayout l) {
    assertThat(l.textBase()).isEqualTo(FakeGuest.TEXT);
    assertThat(l.slide()).isEqualTo(FakeGuest.TEXT - 0xffffffff81000000L);
    assertThat(l.physicalLoadAddress()).isEqualTo(FakeGuest.LOAD);
    assertThat(l.imageSize()).isEqualTo(4L << 20);
    assertThat(l.pageOffsetBase()).isEqualTo(FakeGuest.POB);
    assertThat(l.vmallocBase()).isEqualTo(FakeGuest.VMALLOC);
    assertThat(l.vmemmapBase()).isEqualTo(FakeGuest.VMEMMAP);
  }

  @Test
  void findsLayoutAndIdentityFromCr3() throws Exception {
    GuestKernel k = GuestKernel.locate(new FakeGuest(true, false));
    assertFakeLayout(k.layout());
    assertThat(k.layout().perCpuBases()).containsExactly(FakeGuest.PER_CPU);
    assertThat(k.identity().banner()).isEqualTo(FakeGuest.BANNER);
    assertThat(k.identity().buildId()).isEqualTo(FakeGuest.BUILD_ID);
    assertThat(k.identity().buildName()).isEqualTo("6.1.0-99-test");
    assertThat(k.memory().readCString(FakeGuest.TEXT + 0x200001, 200)).isEqualTo(FakeGuest.BANNER + "\n");
  }

  @Test
  void ptiUserCr3UsesTheKernelHalfOfThePair() throws Exception {
    GuestKernel k = GuestKernel.locate(new FakeGuest(true, true));
    assertFakeLayout(k.layout());
    assertThat(k.layout().pageTableRoot() & 0x1000).isZero();
    assertThat(k.layout().perCpuBases()).containsExactly(FakeGuest.PER_CPU);
  }

  @Test
  void withoutCpuStateTheRootIsFoundInMemory() throws Exception {
    KernelLayout l = KernelLayout.find(new FakeGuest(false, false));
    assertFakeLayout(l);
    assertThat(l.perCpuBases()).isEmpty();
  }

  @Test
  void aKernelWithoutBannerInItsImageIsAClearError() {
    FakeGuest g = new FakeGuest(true, false);
    g.put(FakeGuest.LOAD + 0x200001, "Xinux".getBytes());
    assertThatThrownBy(() -> GuestKernel.locate(g)).isInstanceOf(KernelAnalysisException.class)
        .hasMessageContaining("no linux_banner");
  }

  @Test
  void nothingMappedInTheImageWindowIsAClearError() {
    FakeGuest g = new FakeGuest(true, false);
    g.tables.putRootEntry(FakeGuest.TEXT, 0); // unmap the whole top 512 GiB
    assertThatThrownBy(() -> KernelLayout.find(g)).isInstanceOf(KernelAnalysisException.class)
        .hasMessageContaining("no 2 MiB page mapped");
  }

  @Test
  void loopingTablesEndInAnErrorNotAHang() {
    FakeGuest g = new FakeGuest(true, false);
    long root = g.tables.root;
    for (int i = 256; i < 511; i++) {
      g.memory.putLong(root + 8L * i, root | PageTables.P | PageTables.RW);
    }
    assertThatThrownBy(() -> KernelLayout.find(g)).isInstanceOf(KernelAnalysisException.class);
  }

  @Test
  void translatesBetweenLayoutsRegionByRegion() {
    KernelLayout t = new KernelLayout(4, 0x1000, 0xffffffffa0000000L, 0x6400000, 0x2a00000, 0xffff8d2040000000L,
        0xffffd130c0000000L, 0xfffffbe1c0000000L, List.of(0xffff8d204b800000L));
    KernelLayout u = new KernelLayout(4, 0x2000, FakeGuest.TEXT, FakeGuest.LOAD, 0x2a00000, FakeGuest.POB,
        FakeGuest.VMALLOC, FakeGuest.VMEMMAP, List.of());
    assertThat(u.translate(FakeGuest.TEXT + 0x123456, t)).hasValue(0xffffffffa0123456L);
    assertThat(u.translate(FakeGuest.POB + 0x5000, t)).hasValue(0xffff8d2040005000L);
    assertThat(u.translate(FakeGuest.VMALLOC + 0x42, t)).hasValue(0xffffd130c0000042L);
    assertThat(u.translate(FakeGuest.VMEMMAP + 0x40, t)).hasValue(0xfffffbe1c0000040L);
    assertThat(u.translate(0xffffffffc0001000L, t)).hasValue(0xffffffffc0001000L); // modules: fixed
    assertThat(u.translate(0x7ffe0000L, t)).hasValue(0x7ffe0000L);                  // user: fixed
    assertThat(t.translate(u.translate(FakeGuest.POB + 0x777, t).getAsLong(), u)).hasValue(FakeGuest.POB + 0x777);
    assertThat(u.regionOf(FakeGuest.POB + 0x5000)).isEqualTo(KernelLayout.Region.DIRECT_MAP);
    assertThat(u.physicalAddress(FakeGuest.TEXT + 0x10)).hasValue(FakeGuest.LOAD + 0x10);
    assertThat(u.physicalAddress(FakeGuest.POB + 0x10)).hasValue(0x10);
    assertThat(u.physicalAddress(FakeGuest.VMALLOC)).isEmpty();
    // An image offset past the target's window has no counterpart.
    assertThat(t.translate(0xffffffffbff00000L, u)).isEmpty();
  }

  /**
   * With 5 levels the memory map gives vmemmap up to 512 TiB; KASLR may place the region (about a TiB really) so high
   * that 512 TiB would cover the module area: modules must stay fixed, as with 4 levels.
   */
  @Test
  void aHighFiveLevelVmemmapStopsBelowTheCpuEntryArea() {
    KernelLayout t = new KernelLayout(5, 0x1000, 0xffffffffa0000000L, 0x6400000, 0x2a00000, 0xff3b4d2040000000L,
        0xff7a30c000000000L, 0xfffff00000000000L, List.of());
    KernelLayout u = new KernelLayout(5, 0x2000, 0xffffffff9e000000L, 0x2000000, 0x2a00000, 0xff11000000000000L,
        0xff40000000000000L, 0xffd4000000000000L, List.of());
    assertThat(t.regionOf(0xffffffffc0569100L)).isEqualTo(KernelLayout.Region.FIXED);
    assertThat(t.translate(0xffffffffc0569100L, u)).hasValue(0xffffffffc0569100L);
    assertThat(t.regionOf(0xfffff00000000040L)).isEqualTo(KernelLayout.Region.VMEMMAP);
    assertThat(t.translate(0xfffff00000000040L, u)).hasValue(0xffd4000000000040L);
    assertThat(t.vmemmapSize()).isEqualTo(KernelLayout.CPU_ENTRY_AREA_BASE - 0xfffff00000000000L);
    assertThat(u.vmemmapSize()).isEqualTo(512L << 40);
  }
}
