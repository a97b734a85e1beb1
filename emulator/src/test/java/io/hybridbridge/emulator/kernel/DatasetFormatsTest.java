package io.hybridbridge.emulator.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.snapshot.PhysicalRange;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.Snapshots;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/**
 * ELF and kdump-compressed dumps read alike. Dumps of one pause (same boot, same dump time) must match page for
 * page with equal CPU state; dumps of one boot at different moments must agree on layout, identity and the bytes of
 * the kernel's read-only data.
 */
@Tag("dataset")
class DatasetFormatsTest {
  @TestFactory
  Stream<DynamicTest> elfAndKdumpDumpsOfOneBootReadAlike() throws Exception {
    Map<String, List<DefaultDataset.Entry>> byBoot = DefaultDataset.entries().stream()
        .collect(Collectors.groupingBy(e -> e.kernelBuild() + "/" + e.bootId()));
    ReferenceStore store = ReferenceStore.open(DefaultDataset.directory());
    List<DynamicTest> tests = new ArrayList<>();
    Set<String> buildsWithSamePausePair = new TreeSet<>();
    for (List<DefaultDataset.Entry> boot : byBoot.values()) {
      for (DefaultDataset.Entry elf : boot) {
        for (DefaultDataset.Entry kdump : boot) {
          if (elf.format().equals("ELF") && kdump.format().equals("KDUMP")) {
            boolean samePause = elf.dumpTimeMillis() == kdump.dumpTimeMillis();
            if (samePause) {
              buildsWithSamePausePair.add(elf.kernelBuild());
            }
            tests.add(DynamicTest.dynamicTest(elf.id() + " vs " + kdump.id(),
                () -> compare(elf, kdump, samePause, store)));
          }
        }
      }
    }
    assertThat(tests).as("boots with both an ELF and a kdump dump in the dataset").isNotEmpty();
    assertThat(buildsWithSamePausePair).as("builds with an ELF and a kdump dump of the same pause")
        .containsExactlyInAnyOrderElementsOf(DefaultDataset.entries().stream()
            .map(DefaultDataset.Entry::kernelBuild).distinct().toList());
    return tests.stream();
  }

  private static void compare(DefaultDataset.Entry elfEntry, DefaultDataset.Entry kdumpEntry, boolean samePause,
      ReferenceStore store) throws Exception {
    try (Snapshot elf = Snapshots.open(elfEntry.path()); Snapshot kdump = Snapshots.open(kdumpEntry.path())) {
      assertThat(kdump.ranges()).isEqualTo(elf.ranges());
      GuestKernel e = GuestKernel.locate(elf);
      GuestKernel k = GuestKernel.locate(kdump);
      assertThat(k.identity()).isEqualTo(e.identity());
      assertThat(withoutRoot(k.layout())).isEqualTo(withoutRoot(e.layout()));
      if (samePause) {
        assertThat(kdump.cpus()).isEqualTo(elf.cpus());
        assertSamePages(elf, kdump, elf.ranges());
      } else {
        Profile profile = store.profile(store.require(e));
        Section rodata = profile.rodata();
        long start = e.layout().physicalAddress(Profile.runtime(rodata.start(), e.layout())).getAsLong();
        assertSamePages(elf, kdump, List.of(new PhysicalRange(start & -4096, rodata.size())));
      }
    }
  }

  /** The page-table root differs between dumps of one boot (CR3 is whichever process ran); the rest must not. */
  private static KernelLayout withoutRoot(KernelLayout l) {
    return new KernelLayout(l.pagingLevels(), 0, l.textBase(), l.physicalLoadAddress(), l.imageSize(),
        l.pageOffsetBase(), l.vmallocBase(), l.vmemmapBase(), List.of());
  }

  private static void assertSamePages(Snapshot a, Snapshot b, List<PhysicalRange> ranges) throws Exception {
    byte[] x = new byte[4096];
    byte[] y = new byte[4096];
    long compared = 0;
    for (PhysicalRange r : ranges) {
      for (long frame = r.start() >>> 12; frame < (r.end() + 4095) >>> 12; frame++) {
        a.readPage(frame, x, 0);
        b.readPage(frame, y, 0);
        if (!Arrays.equals(x, y)) {
          throw new AssertionError(String.format("page %#x differs between %s and %s", frame << 12, a.name(),
              b.name()));
        }
        compared++;
      }
    }
    assertThat(compared).isPositive();
  }
}
