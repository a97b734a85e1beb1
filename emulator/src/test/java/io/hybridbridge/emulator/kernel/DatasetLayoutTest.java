package io.hybridbridge.emulator.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.hybridbridge.emulator.memory.AddressTranslator;
import io.hybridbridge.emulator.memory.VirtualMemory;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.Snapshots;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/**
 * Every snapshot of the default dataset: the layout found without symbols equals what the guest printed just before
 * the dump (kallsyms, /proc/kcore program headers, /proc/iomem), the banner and build are identified, the kernel's
 * own variables read through our page walk agree, and the build's reference and profile are found.
 */
@Tag("dataset")
class DatasetLayoutTest {
  private static long hex(JsonNode node, String what) {
    assertThat(node.isTextual()).as(what + " in truth.json").isTrue();
    return Long.parseUnsignedLong(node.asText().replaceFirst("^0x", ""), 16);
  }

  @TestFactory
  Stream<DynamicTest> everySnapshotAgreesWithItsGroundTruth() throws Exception {
    ReferenceStore store = ReferenceStore.open(DefaultDataset.directory());
    List<DynamicTest> tests = new ArrayList<>();
    for (DefaultDataset.Entry entry : DefaultDataset.entries()) {
      tests.add(DynamicTest.dynamicTest(entry.id(), () -> check(entry, store)));
    }
    return tests.stream();
  }

  private static void check(DefaultDataset.Entry entry, ReferenceStore store) throws Exception {
    JsonNode truth = entry.truth();
    JsonNode layoutTruth = truth.path("layout");
    JsonNode symbols = layoutTruth.path("symbols");
    try (Snapshot snapshot = Snapshots.open(entry.path())) {
      assertThat(snapshot.format().toString()).isEqualTo(entry.format());
      GuestKernel kernel = GuestKernel.locate(snapshot);
      KernelLayout layout = kernel.layout();
      long text = hex(symbols.path("_text"), "_text");
      assertThat(layout.textBase()).as("_text").isEqualTo(text);
      assertThat(layout.slide()).as("slide").isEqualTo(text - 0xffffffff81000000L);
      assertThat(layout.physicalLoadAddress()).as("Kernel code in /proc/iomem")
          .isEqualTo(hex(layoutTruth.path("kernelCodePhysical"), "kernelCodePhysical"));
      assertThat(layout.pageOffsetBase()).as("page_offset_base (kcore)")
          .isEqualTo(hex(layoutTruth.path("pageOffsetBase"), "pageOffsetBase"));
      assertThat(layout.vmallocBase()).as("vmalloc_base (kcore)")
          .isEqualTo(hex(layoutTruth.path("vmallocBase"), "vmallocBase"));
      assertThat(layout.vmemmapBase()).as("vmemmap_base (kcore)")
          .isEqualTo(hex(layoutTruth.path("vmemmapBase"), "vmemmapBase"));

      // The kernel's own layout variables, read through our page walk, hold the same values.
      VirtualMemory memory = kernel.memory();
      assertThat(memory.readLong(hex(symbols.path("page_offset_base"), "page_offset_base")))
          .isEqualTo(layout.pageOffsetBase());
      assertThat(memory.readLong(hex(symbols.path("vmalloc_base"), "vmalloc_base"))).isEqualTo(layout.vmallocBase());
      assertThat(memory.readLong(hex(symbols.path("vmemmap_base"), "vmemmap_base"))).isEqualTo(layout.vmemmapBase());

      // Identity: the banner is /proc/version, and linux_banner read through the page tables is the same line.
      String version = truth.path("version").asText();
      assertThat(kernel.identity().banner()).isEqualTo(version);
      assertThat(kernel.identity().buildName()).isEqualTo(entry.kernelBuild());
      assertThat(kernel.identity().buildId()).matches("[0-9a-f]{40}");
      assertThat(memory.readCString(hex(symbols.path("linux_banner"), "linux_banner"), 1024))
          .isEqualTo(version + "\n");

      // The build's reference and profile: symbols made KASLR-free there land on this boot's symbols.
      ReferenceStore.Reference reference = store.require(kernel);
      Profile profile = reference.profile();
      for (String name : List.of("_text", "linux_banner", "init_task", "entry_SYSCALL_64", "page_offset_base")) {
        if (symbols.has(name)) {
          assertThat(Profile.runtime(profile.address(name).getAsLong(), layout)).as(name)
              .isEqualTo(hex(symbols.path(name), name));
        }
      }
      // Presenting this snapshot through its reference's layout (DESIGN §5.2): region-wise translation goes there
      // and back, and the layout's own physical mapping agrees with the page walk.
      KernelLayout referenceLayout;
      try (Snapshot referenceSnapshot = Snapshots.open(reference.snapshot())) {
        referenceLayout = KernelLayout.find(referenceSnapshot);
      }
      long banner = hex(symbols.path("linux_banner"), "linux_banner");
      for (long address : List.of(banner, layout.perCpuBases().get(0), layout.pageOffsetBase() + 0x1000,
          layout.textBase())) {
        long there = layout.translate(address, referenceLayout).orElseThrow();
        assertThat(referenceLayout.regionOf(there)).isEqualTo(layout.regionOf(address));
        assertThat(referenceLayout.translate(there, layout)).hasValue(address);
        assertThat(layout.physicalAddress(address))
            .hasValue(kernel.pageTables().toPhysical(address, AddressTranslator.Access.READ));
      }
      assertThat(layout.translate(banner, referenceLayout))
          .hasValue(Profile.runtime(profile.address("linux_banner").getAsLong(), referenceLayout));

      // Per-CPU base from the CPU state equals the kernel's own __per_cpu_offset[cpu].
      assertThat(layout.perCpuBases()).as("per-CPU bases from CPU state").isNotEmpty();
      List<Long> fromMemory = kernel.perCpuBases(profile);
      assertThat(fromMemory.subList(0, layout.perCpuBases().size())).isEqualTo(layout.perCpuBases());
    }
  }
}
