package io.hybridbridge.emulator.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.snapshot.ByteSource;
import io.hybridbridge.emulator.snapshot.ContainerFormat;
import io.hybridbridge.emulator.snapshot.PhysicalRange;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.Snapshots;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.TestFactory;

/**
 * Formats without CPU state, on real memory: the RAM of each reference ELF dump seen as a raw image and as a LiME
 * file. The kernel's page-table root must be found from memory alone, and layout and identity must equal the ELF's.
 */
@Tag("dataset")
class DatasetOtherFormatsTest {
  @TestFactory
  Stream<DynamicTest> rawAndLimeViewsOfRealMemoryFindTheSameKernel() throws Exception {
    return DefaultDataset.entries().stream().filter(e -> e.role().equals("REFERENCE"))
        .flatMap(e -> Stream.of(
            DynamicTest.dynamicTest(e.id() + " as raw", () -> check(e, false)),
            DynamicTest.dynamicTest(e.id() + " as LiME", () -> check(e, true))));
  }

  private static void check(DefaultDataset.Entry entry, boolean lime) throws Exception {
    try (Snapshot elf = Snapshots.open(entry.path()); ByteSource file = ByteSource.map(entry.path())) {
      GuestKernel expected = GuestKernel.locate(elf);
      PhysicalRange ram = elf.ranges().get(0);
      assertThat(ram.start()).isZero();
      long fileOffset = ramFileOffset(file);
      byte[] prefix = new byte[0];
      if (lime) {
        prefix = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN).putInt(0x4C694D45).putInt(1).putLong(0)
            .putLong(ram.length() - 1).array();
      }
      try (Snapshot view = Snapshots.open(new WindowSource(prefix, file, fileOffset, ram.length()), List::of)) {
        assertThat(view.format()).isEqualTo(lime ? ContainerFormat.LIME : ContainerFormat.RAW);
        assertThat(view.cpus()).isEmpty();
        GuestKernel found = GuestKernel.locate(view);
        KernelLayout e = expected.layout();
        KernelLayout f = found.layout();
        assertThat(f.textBase()).isEqualTo(e.textBase());
        assertThat(f.physicalLoadAddress()).isEqualTo(e.physicalLoadAddress());
        assertThat(f.imageSize()).isEqualTo(e.imageSize());
        assertThat(f.pageOffsetBase()).isEqualTo(e.pageOffsetBase());
        assertThat(f.vmallocBase()).isEqualTo(e.vmallocBase());
        assertThat(f.vmemmapBase()).isEqualTo(e.vmemmapBase());
        assertThat(f.perCpuBases()).isEmpty();
        assertThat(found.identity()).isEqualTo(expected.identity());
      }
    }
  }

  /** File offset of the PT_LOAD that starts at physical 0. */
  private static long ramFileOffset(ByteSource elf) throws Exception {
    ByteBuffer eh = elf.read(0, 64);
    long phoff = eh.getLong(32);
    int phnum = Short.toUnsignedInt(eh.getShort(56));
    ByteBuffer ph = elf.read(phoff, 56 * phnum);
    for (int i = 0; i < phnum; i++) {
      if (ph.getInt(56 * i) == 1 && ph.getLong(56 * i + 24) == 0) {
        return ph.getLong(56 * i + 8);
      }
    }
    throw new AssertionError("no PT_LOAD at physical 0 in " + elf.name());
  }
}
