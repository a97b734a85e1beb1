package io.hybridbridge.emulator.kernel;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.snapshot.ByteSource;
import io.hybridbridge.emulator.snapshot.CpuState;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.SnapshotFormatException;
import io.hybridbridge.emulator.snapshot.Snapshots;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.junit.jupiter.api.Assertions;

/**
 * Real snapshots of the default dataset, corrupted in their headers, notes, bitmaps, descriptors and page tables,
 * or cut short: opening, locating the kernel and reading pages either work or fail with the checked error of
 * their layer — never an unchecked exception, an out-of-memory or a hang.
 */
@Tag("dataset")
class HostileSnapshotTest {
  private static ByteSource elf;
  private static ByteSource kdump;
  /** Bytes before the first PT_LOAD's data: ELF header, program headers, notes. */
  private static long elfHeaderRegion;
  /** ELF file offset of the kernel PGD page, and the PGD's physical address. */
  private static long pgdFileOffset;
  private static long pgdPhysical;
  /** The ELF's RAM segment (physical 0 on) seen as a raw image: no CPU state, so the root is searched for. */
  private static ByteSource raw;

  @BeforeContainer
  static void openRealSnapshots() throws Exception {
    List<DefaultDataset.Entry> entries = DefaultDataset.entries();
    Path elfPath = entries.stream().filter(e -> e.format().equals("ELF")).findFirst().orElseThrow().path();
    Path kdumpPath = entries.stream().filter(e -> e.format().equals("KDUMP")).findFirst()
        .orElseThrow(() -> new AssertionError("the default dataset has no kdump snapshot")).path();
    elf = ByteSource.map(elfPath);
    kdump = ByteSource.map(kdumpPath);
    ByteBuffer eh = elf.read(0, 64);
    long phoff = eh.getLong(32);
    int phnum = Short.toUnsignedInt(eh.getShort(56));
    ByteBuffer ph = elf.read(phoff, 56 * phnum);
    elfHeaderRegion = elf.size();
    try (Snapshot s = Snapshots.open(elfPath)) {
      pgdPhysical = KernelLayout.find(s).pageTableRoot();
    }
    for (int i = 0; i < phnum; i++) {
      if (ph.getInt(56 * i) == 1) {
        long offset = ph.getLong(56 * i + 8);
        long paddr = ph.getLong(56 * i + 24);
        long filesz = ph.getLong(56 * i + 32);
        elfHeaderRegion = Math.min(elfHeaderRegion, offset);
        if (pgdPhysical - paddr >= 0 && pgdPhysical - paddr < filesz) {
          pgdFileOffset = offset + (pgdPhysical - paddr);
        }
        if (paddr == 0) {
          raw = new WindowSource(new byte[0], elf, offset, filesz);
        }
      }
    }
    assertThat(pgdFileOffset).isPositive();
  }

  @AfterContainer
  static void close() throws Exception {
    elf.close();
    kdump.close();
  }

  /** Opens, locates the kernel, reads around; only the checked errors of each layer may come out. */
  private static void survives(ByteSource source) {
    Assertions.assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
      Snapshot snapshot;
      try {
        snapshot = Snapshots.open(source, List::of);
      } catch (SnapshotFormatException e) {
        assertThat(e.getMessage()).isNotBlank();
        return;
      }
      try (snapshot) {
        byte[] page = new byte[4096];
        // A corrupted header may claim petabytes of RAM: sample at most ~4096 frames, so the probe stays bounded.
        long frames = snapshot.physicalEnd() >>> 12;
        long step = Math.max(997, frames / 4096);
        for (long frame = 0; frame < frames; frame += step) {
          try {
            snapshot.readPage(frame, page, 0);
          } catch (MemoryAccessException e) {
            assertThat(e.getMessage()).isNotBlank();
          }
        }
        for (CpuState cpu : snapshot.cpus()) {
          assertThat(cpu.pagingLevels()).isIn(4, 5);
        }
        try {
          GuestKernel kernel = GuestKernel.locate(snapshot);
          kernel.memory().readLong(kernel.layout().textBase());
        } catch (KernelAnalysisException | MemoryAccessException e) {
          assertThat(e.getMessage()).isNotBlank();
        }
      }
    });
  }

  @Provide
  Arbitrary<Map<Long, Byte>> elfHeaderPatches() {
    return patches(elfHeaderRegion);
  }

  @Provide
  Arbitrary<Map<Long, Byte>> kdumpHeaderPatches() {
    return patches(Math.min(kdump.size(), 64 << 10)); // flat header, record headers, kdump header, notes, bitmaps
  }

  @Provide
  Arbitrary<Map<Long, Byte>> kdumpAnywherePatches() {
    return patches(kdump.size());
  }

  private static Arbitrary<Map<Long, Byte>> patches(long region) {
    Arbitrary<Long> offsets = Arbitraries.longs().between(0, region - 1);
    Arbitrary<Byte> values = Arbitraries.oneOf(Arbitraries.bytes(), Arbitraries.of((byte) 0, (byte) 0xff,
        (byte) 0x7f, (byte) 0x80, (byte) 1));
    return Arbitraries.maps(offsets, values).ofMinSize(1).ofMaxSize(12);
  }

  @Property(tries = 150)
  void corruptedElfHeadersAndNotes(@ForAll("elfHeaderPatches") Map<Long, Byte> patches) {
    survives(new CorruptedSource(elf, patches, Long.MAX_VALUE));
  }

  @Property(tries = 100)
  void truncatedElf(@ForAll("elfCuts") long size) {
    survives(new CorruptedSource(elf, Map.of(), size));
  }

  @Provide
  Arbitrary<Long> elfCuts() {
    return Arbitraries.oneOf(Arbitraries.longs().between(0, elfHeaderRegion + 64),
        Arbitraries.longs().between(0, elf.size() - 1));
  }

  @Property(tries = 150)
  void corruptedKdumpHeadersNotesAndBitmaps(@ForAll("kdumpHeaderPatches") Map<Long, Byte> patches) {
    survives(new CorruptedSource(kdump, patches, Long.MAX_VALUE));
  }

  @Property(tries = 60)
  void corruptedKdumpDescriptorsAndPages(@ForAll("kdumpAnywherePatches") Map<Long, Byte> patches) {
    survives(new CorruptedSource(kdump, patches, Long.MAX_VALUE));
  }

  @Property(tries = 100)
  void truncatedKdump(@ForAll("kdumpCuts") long size) {
    survives(new CorruptedSource(kdump, Map.of(), size));
  }

  @Provide
  Arbitrary<Long> kdumpCuts() {
    return Arbitraries.oneOf(Arbitraries.longs().between(0, 64 << 10), Arbitraries.longs().between(0,
        kdump.size() - 1));
  }

  /** Kernel PGD entries rewritten to point at the PGD itself, at absurd addresses, or at random values. */
  @Property(tries = 100)
  void pageTableLoopsAndAbsurdEntries(@ForAll("pgdEntries") Map<Integer, Long> entries) {
    survives(new CorruptedSource(elf, pgdPatches(pgdFileOffset, entries), Long.MAX_VALUE));
  }

  /** The same corruption of a raw image, where the root must be searched for among all pages. */
  @Property(tries = 40)
  void pageTableLoopsWithoutCpuState(@ForAll("pgdEntries") Map<Integer, Long> entries) {
    assertThat(raw).isNotNull();
    survives(new CorruptedSource(raw, pgdPatches(pgdPhysical, entries), Long.MAX_VALUE));
  }

  private static Map<Long, Byte> pgdPatches(long pgdOffset, Map<Integer, Long> entries) {
    Map<Long, Byte> patches = new HashMap<>();
    entries.forEach((index, value) -> {
      byte[] b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(value).array();
      for (int i = 0; i < 8; i++) {
        patches.put(pgdOffset + 8L * index + i, b[i]);
      }
    });
    return patches;
  }

  @Provide
  Arbitrary<Map<Integer, Long>> pgdEntries() {
    Arbitrary<Long> values = Arbitraries.oneOf(
        Arbitraries.just(pgdPhysical | 0x67),                            // a loop back to the root
        Arbitraries.longs().between(0, 1L << 52).map(v -> v | 0x67),     // anywhere, mostly outside memory
        Arbitraries.just(pgdPhysical | 0xe7),                            // a "huge" top-level entry (reserved)
        Arbitraries.longs());
    return Arbitraries.maps(Arbitraries.integers().between(256, 511), values).ofMinSize(1).ofMaxSize(64);
  }
}
