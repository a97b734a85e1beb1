package io.hybridbridge.emulator.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.emulator.memory.MemoryAccessException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Each reader on small synthetic files: memory, holes, CPU state, metadata, format detection. */
class ReadersTest {
  private static final long[][] RANGES = {{0, 4}, {16, 3}};

  @TempDir
  Path dir;

  private static void assertServesRanges(Snapshot s) throws MemoryAccessException {
    assertThat(s.ranges()).containsExactly(new PhysicalRange(0, 4 * 4096), new PhysicalRange(16 * 4096, 3 * 4096));
    byte[] got = new byte[4096];
    for (long[] r : RANGES) {
      for (long f = r[0]; f < r[0] + r[1]; f++) {
        assertThat(s.hasPage(f)).isTrue();
        s.readPage(f, got, 0);
        assertThat(got).as("frame %d", f).isEqualTo(SyntheticDumps.page(f));
      }
    }
    assertThat(s.hasPage(5)).isFalse();
    assertThatThrownBy(() -> s.readPage(5, got, 0)).isInstanceOf(MemoryAccessException.class)
        .hasMessageContaining("hole");
    byte[] across = new byte[8];
    s.read(4 * 4096 - 4, new byte[4], 0, 4); // last bytes before the hole are readable
    assertThatThrownBy(() -> s.read(4 * 4096 - 4, across, 0, 8)).isInstanceOf(MemoryAccessException.class);
  }

  @Test
  void elfCoreServesPagesAndQemuCpuState() throws Exception {
    Path p = SyntheticDumps.write(dir, "any-name.bin", SyntheticDumps.elf(SyntheticDumps.standardNotes(), RANGES));
    try (Snapshot s = Snapshots.open(p)) {
      assertThat(s.format()).isEqualTo(ContainerFormat.ELF);
      assertServesRanges(s);
      assertThat(s.cpus()).hasSize(1);
      CpuState cpu = s.cpus().get(0);
      assertThat(cpu.origin()).isEqualTo(CpuState.Origin.QEMU_NOTE);
      assertThat(cpu.rip()).isEqualTo(0xffffffff81000000L);
      assertThat(cpu.rax()).isEqualTo(0x1000);
      assertThat(cpu.r15()).isEqualTo(0x100f);
      assertThat(cpu.cr3()).isEqualTo(0x1a10000);
      assertThat(cpu.userMode()).isFalse();
      assertThat(cpu.perCpuBase()).isEqualTo(0xffff888000100000L);
      assertThat(s.vmcoreinfo()).hasValueSatisfying(v -> assertThat(v).contains("OSRELEASE=6.1.0-test"));
    }
  }

  @Test
  void userModePerCpuBaseComesFromKernelGsBase() throws Exception {
    byte[] notes = SyntheticDumps.note("QEMU", 0,
        SyntheticDumps.qemuNote(0x401000, 0x2953000, 0x33, 0x7f0000001000L, 0xffff8d204b800000L));
    Path p = SyntheticDumps.write(dir, "u.elf", SyntheticDumps.elf(notes, RANGES));
    try (Snapshot s = Snapshots.open(p)) {
      CpuState cpu = s.cpus().get(0);
      assertThat(cpu.userMode()).isTrue();
      assertThat(cpu.perCpuBase()).isEqualTo(0xffff8d204b800000L);
      assertThat(cpu.pageTableRoot() & CpuState.CR3_PTI_USER).isNotZero();
    }
  }

  @Test
  void elfWithoutQemuNoteFallsBackToPrstatus() throws Exception {
    byte[] notes = SyntheticDumps.note("CORE", 1, SyntheticDumps.prstatusNote(0xffffffff81234567L, 42));
    Path p = SyntheticDumps.write(dir, "p.elf", SyntheticDumps.elf(notes, RANGES));
    try (Snapshot s = Snapshots.open(p)) {
      CpuState cpu = s.cpus().get(0);
      assertThat(cpu.origin()).isEqualTo(CpuState.Origin.PRSTATUS);
      assertThat(cpu.rip()).isEqualTo(0xffffffff81234567L);
      assertThat(cpu.rax()).isEqualTo(42);
      assertThat(cpu.hasControlRegisters()).isFalse();
    }
  }

  @Test
  void kdumpOnDiskServesZlibRawAndSharedZeroPages() throws Exception {
    byte[] kdump = SyntheticDumps.kdump(SyntheticDumps.standardNotes(), RANGES, 32, List.of());
    Path p = SyntheticDumps.write(dir, "k.elf", kdump); // the name lies; the content decides
    try (Snapshot s = Snapshots.open(p)) {
      assertThat(s.format()).isEqualTo(ContainerFormat.KDUMP);
      assertServesRanges(s);
      assertThat(s.cpus().get(0).cr3()).isEqualTo(0x1a10000);
      assertThat(s.vmcoreinfo()).isPresent();
    }
    byte[] withZero = SyntheticDumps.kdump(SyntheticDumps.standardNotes(), RANGES, 32, List.of(2L, 17L));
    try (Snapshot s = Snapshots.open(SyntheticDumps.write(dir, "z", withZero))) {
      byte[] got = new byte[4096];
      s.readPage(17, got, 0);
      assertThat(got).isEqualTo(new byte[4096]);
      s.readPage(18, got, 0);
      assertThat(got).isEqualTo(SyntheticDumps.page(18));
    }
  }

  @Test
  void flattenedKdumpReadsLikeTheReassembledFile() throws Exception {
    byte[] kdump = SyntheticDumps.kdump(SyntheticDumps.standardNotes(), RANGES, 32, List.of(1L));
    Path p = SyntheticDumps.write(dir, "f", SyntheticDumps.flatten(kdump, 1000));
    try (Snapshot s = Snapshots.open(p)) {
      assertThat(s.format()).isEqualTo(ContainerFormat.KDUMP);
      assertThat(s.sizeBytes()).isEqualTo(Files.size(p));
      byte[] got = new byte[4096];
      s.readPage(1, got, 0);
      assertThat(got).isEqualTo(new byte[4096]);
      s.readPage(16, got, 0);
      assertThat(got).isEqualTo(SyntheticDumps.page(16));
      assertThat(s.cpus()).hasSize(1);
    }
  }

  @Test
  void limeServesItsRanges() throws Exception {
    Path p = SyntheticDumps.write(dir, "l", SyntheticDumps.lime(RANGES));
    try (Snapshot s = Snapshots.open(p)) {
      assertThat(s.format()).isEqualTo(ContainerFormat.LIME);
      assertServesRanges(s);
      assertThat(s.cpus()).isEmpty();
    }
  }

  @Test
  void rawImageTakesCpuStateFromItsSidecar() throws Exception {
    byte[] raw = new byte[4 * 4096];
    for (int f = 0; f < 4; f++) {
      System.arraycopy(SyntheticDumps.page(f), 0, raw, f * 4096, 4096);
    }
    Path p = SyntheticDumps.write(dir, "guest.mem", raw);
    try (Snapshot s = Snapshots.open(p)) {
      assertThat(s.format()).isEqualTo(ContainerFormat.RAW);
      assertThat(s.cpus()).isEmpty();
      byte[] got = new byte[4096];
      s.readPage(3, got, 0);
      assertThat(got).isEqualTo(SyntheticDumps.page(3));
    }
    Files.writeString(CpuSidecar.besides(p),
        "{\"cpus\":[{\"rip\":\"0xffffffff81000000\",\"cr3\":\"0x1a10000\",\"cs\":16,\"gs_base\":\"0xffff888000100000\"}]}");
    try (Snapshot s = Snapshots.open(p)) {
      CpuState cpu = s.cpus().get(0);
      assertThat(cpu.origin()).isEqualTo(CpuState.Origin.SIDECAR);
      assertThat(cpu.rip()).isEqualTo(0xffffffff81000000L);
      assertThat(cpu.perCpuBase()).isEqualTo(0xffff888000100000L);
      assertThat(cpu.hasControlRegisters()).isTrue();
    }
    Files.writeString(CpuSidecar.besides(p), "{\"cpus\":[{\"rpi\":1}]}");
    assertThatThrownBy(() -> Snapshots.open(p)).isInstanceOf(SnapshotFormatException.class)
        .hasMessageContaining("rpi")
        .extracting(e -> ((SnapshotFormatException) e).reason()).isEqualTo(SnapshotFormatException.Reason.BAD_SIDECAR);
  }

  @Test
  void channelSourceReadsLikeTheMappedFile() throws Exception {
    Path p = SyntheticDumps.write(dir, "c", SyntheticDumps.elf(SyntheticDumps.standardNotes(), RANGES));
    try (Snapshot s = Snapshots.open(ByteSource.of(FileChannel.open(p, StandardOpenOption.READ), p.toString()),
        List::of)) {
      assertServesRanges(s);
    }
  }

  @Test
  void unknownContentThatIsNotPageSizedIsRejected() throws IOException {
    Path p = SyntheticDumps.write(dir, "junk", new byte[5000]);
    assertThatThrownBy(() -> Snapshots.open(p)).isInstanceOf(SnapshotFormatException.class)
        .extracting(e -> ((SnapshotFormatException) e).reason())
        .isEqualTo(SnapshotFormatException.Reason.UNKNOWN_FORMAT);
  }

  static ByteBuffer le(byte[] b) {
    return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
  }
}
