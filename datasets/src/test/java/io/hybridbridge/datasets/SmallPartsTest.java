package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The agent program, flattened-kdump reassembly, the ttyS1 frame reader. */
class SmallPartsTest {
  @TempDir Path dir;

  @Test
  void agentIsOneExecutablePageSpinningAtItsEntry() throws DatasetException {
    byte[] bytes = AgentProgram.bytes();
    Elf64 elf = Elf64.parse(bytes);
    assertThat(elf.type()).isEqualTo(2);
    assertThat(elf.machine()).isEqualTo(0x3e);
    assertThat(elf.entry()).isEqualTo(AgentProgram.ENTRY);
    assertThat(elf.programHeaders()).hasSize(1);
    Elf64.ProgramHeader load = elf.programHeaders().get(0);
    assertThat(load.type()).isEqualTo(Elf64.PT_LOAD);
    assertThat(load.flags()).isEqualTo(5);
    assertThat(load.vaddr()).isEqualTo(AgentProgram.BASE);
    int entryOffset = (int) (AgentProgram.ENTRY - load.vaddr());
    assertThat(bytes[entryOffset] & 0xff).isEqualTo(0xeb); // jmp rel8
    assertThat(bytes[entryOffset + 1]).isEqualTo((byte) -2); // to itself
  }

  @Test
  void flattenedKdumpIsReassembledAtItsOffsets() throws IOException, DatasetException {
    ByteArrayOutputStream stream = new ByteArrayOutputStream();
    DataOutputStream out = new DataOutputStream(stream);
    byte[] header = new byte[4096];
    System.arraycopy("makedumpfile".getBytes(StandardCharsets.US_ASCII), 0, header, 0, 12);
    out.write(header);
    block(out, 0, "KDUMP   ");
    block(out, 20, "tail");
    block(out, 8, "middle");
    out.writeLong(-1);
    out.writeLong(-1);
    Path flat = dir.resolve("d.flat");
    Files.write(flat, stream.toByteArray());
    assertThat(FlattenedKdump.isFlattened(flat)).isTrue();
    Path target = dir.resolve("d.kdump");
    FlattenedKdump.reassemble(flat, target);
    byte[] expected = new byte[24];
    System.arraycopy("KDUMP   middle".getBytes(StandardCharsets.US_ASCII), 0, expected, 0, 14);
    System.arraycopy("tail".getBytes(StandardCharsets.US_ASCII), 0, expected, 20, 4);
    assertThat(Files.readAllBytes(target)).isEqualTo(expected);
    assertThat(SnapshotFiles.detectFormat(target)).isEqualTo(io.hybridbridge.schemas.SnapshotFormat.KDUMP);

    Files.write(flat, java.util.Arrays.copyOf(stream.toByteArray(), stream.size() - 16)); // no end marker
    assertThatThrownBy(() -> FlattenedKdump.reassemble(flat, target)).isInstanceOf(DatasetException.class)
        .hasMessageContaining("end marker");
  }

  private static void block(DataOutputStream out, long offset, String text) throws IOException {
    out.writeLong(offset);
    out.writeLong(text.length());
    out.write(text.getBytes(StandardCharsets.US_ASCII));
  }

  @Test
  void unknownImageFormatIsAnError() throws IOException {
    Path file = dir.resolve("x");
    Files.writeString(file, "not a memory image");
    assertThatThrownBy(() -> SnapshotFiles.detectFormat(file)).isInstanceOf(DatasetException.class);
  }

  @Test
  void bulkChannelReturnsTheFrameAfterTheOffset() throws IOException, DatasetException {
    Path file = dir.resolve("ttyS1");
    Files.writeString(file, "@@HB-BEGIN k\nold\n@@HB-END k\n");
    long from = Files.size(file);
    Files.writeString(file, "@@HB-BEGIN k\nnew\nlines\n\n@@HB-END k\n", java.nio.file.StandardOpenOption.APPEND);
    byte[] frame = new BulkChannel(file).awaitFrame("@@HB-BEGIN k", "@@HB-END k", from, Duration.ofSeconds(5),
        null);
    assertThat(new String(frame, StandardCharsets.UTF_8)).isEqualTo("new\nlines\n\n");
  }

  @Test
  void recipeChangesWithHowGuestsAreMade() throws DatasetException {
    BuildOptions base = BuildOptions.defaults(dir, dir, java.util.List.of());
    BuildOptions otherCpu = new BuildOptions(dir, dir, java.util.List.of(), 4, 2, SnapshotFormats.ALTERNATING, 128,
        "qemu64", java.util.List.of(1), base.bootTimeout(), base.bootModules(), base.stepModules(), false,
        base.busybox(), 0, false);
    byte[] busybox = {1, 2, 3};
    assertThat(Recipe.of(base, busybox, 1)).isEqualTo(Recipe.of(base.withFleet(9), busybox, 1))
        .as("the counts of the other boots are not part of a boot's recipe")
        .isEqualTo(Recipe.of(base.withGuestCpus(2, 1), busybox, 1));
    assertThat(Recipe.of(base, busybox, 1)).isNotEqualTo(Recipe.of(otherCpu, busybox, 1))
        .isNotEqualTo(Recipe.of(base, busybox, 2))
        .isNotEqualTo(Recipe.of(base, new byte[] {1, 2, 4}, 1))
        .isNotEqualTo(Recipe.of(base.withExtraProcesses(300), busybox, 1))
        .isNotEqualTo(Recipe.of(base.withBusySockets(), busybox, 1));
    assertThat(Recipe.of(base.withBusySockets(), busybox, 1))
        .isNotEqualTo(Recipe.of(base.withExtraProcesses(300).withBusySockets(), busybox, 1));
    assertThat(Recipe.of(base.withExtraProcesses(300).withFleet(9), busybox, 1))
        .isEqualTo(Recipe.of(base.withExtraProcesses(300), busybox, 1));
  }

  @Test
  void aGuestThatRanOutOfMemorySaysSoInFrontOfItsLastConsoleLines() throws Exception {
    String console = "[    7.0] Out of memory: Killed process 168 (hb-workload) total-vm:2260kB\nKilled\n$ \n";
    GuestConsole c = new GuestConsole(new java.io.ByteArrayInputStream(console.getBytes(StandardCharsets.UTF_8)),
        java.io.OutputStream.nullOutputStream(), dir.resolve("console.log"));
    for (int i = 0; i < 100 && !c.closed(); i++) {
      Thread.sleep(10);
    }
    assertThat(c.lastLines(2)).startsWith("  the guest ran out of memory ([    7.0] Out of memory: Killed process 168")
        .contains("give it more with --memory").contains("  | Killed").doesNotContain("  | [    7.0]");
  }

  @Test
  void extraProcessesGoToTheGuestsWorkloadThroughTheKernelCommandLine() {
    GuestVm.Machine busy = new GuestVm.Machine(dir.resolve("vmlinuz"), dir.resolve("initrd"), 128, "qemu64", 1, 300,
        false);
    GuestVm.Machine plain = new GuestVm.Machine(dir.resolve("vmlinuz"), dir.resolve("initrd"), 128, "qemu64", 1, 0,
        false);
    assertThat(String.join(" ", GuestVm.commandLine(busy, "fleet", dir.resolve("qmp"), dir.resolve("bulk"))))
        .contains("hb.role=fleet hb.extra=300 ");
    assertThat(String.join(" ", GuestVm.commandLine(plain, "fleet", dir.resolve("qmp"), dir.resolve("bulk"))))
        .doesNotContain("hb.extra");
    BuildOptions base = BuildOptions.defaults(dir, dir, java.util.List.of());
    assertThat(base.withExtraProcesses(300).withMemory(256).withCpu("max").extraProcesses()).isEqualTo(300);
    assertThatThrownBy(() -> base.withExtraProcesses(-1)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void busySocketsGoToTheGuestsWorkloadThroughTheKernelCommandLine() {
    GuestVm.Machine busy = new GuestVm.Machine(dir.resolve("vmlinuz"), dir.resolve("initrd"), 128, "qemu64", 1, 0,
        true);
    assertThat(String.join(" ", GuestVm.commandLine(busy, "fleet", dir.resolve("qmp"), dir.resolve("bulk"))))
        .contains("hb.role=fleet hb.sockets=busy ").doesNotContain("hb.extra");
    BuildOptions base = BuildOptions.defaults(dir, dir, java.util.List.of());
    assertThat(base.busySockets()).isFalse();
    assertThat(base.withBusySockets().withExtraProcesses(300).withFleet(20, 20, SnapshotFormats.KDUMP).withMemory(256)
        .withCpu("max").withGuestCpus(2).busySockets()).isTrue();
  }

  @Test
  void severalCpuCountsGiveAReferenceEachAndBootsTakeThemInTurn() {
    BuildOptions one = BuildOptions.defaults(dir, dir, java.util.List.of());
    assertThat(one.referenceName(1)).isEqualTo("reference");
    assertThat(one.cpusOfBoot(3)).isEqualTo(1);
    BuildOptions mixed = one.withGuestCpus(1, 2);
    assertThat(mixed.referenceName(1)).isEqualTo("reference-1cpu");
    assertThat(mixed.referenceName(2)).isEqualTo("reference-2cpu");
    assertThat(java.util.List.of(mixed.cpusOfBoot(1), mixed.cpusOfBoot(2), mixed.cpusOfBoot(3)))
        .containsExactly(1, 2, 1);
    assertThatThrownBy(() -> one.withGuestCpus(2, 2)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> one.withGuestCpus(0)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> one.withGuestCpus()).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void smpGuestsGetTheirCpusAndKeepTheirTsc() {
    GuestVm.Machine one = new GuestVm.Machine(dir.resolve("vmlinuz"), dir.resolve("initrd"), 128, "qemu64", 1, 0,
        false);
    GuestVm.Machine two = new GuestVm.Machine(dir.resolve("vmlinuz"), dir.resolve("initrd"), 128, "qemu64", 2, 0,
        false);
    java.util.List<String> single = GuestVm.commandLine(one, "fleet", dir.resolve("qmp"), dir.resolve("bulk"));
    java.util.List<String> smp = GuestVm.commandLine(two, "reference", dir.resolve("qmp"), dir.resolve("bulk"));
    assertThat(String.join(" ", single)).contains("-smp 1 ").doesNotContain("tsc=reliable");
    assertThat(String.join(" ", single)).contains("-accel tcg ");
    assertThat(String.join(" ", smp)).contains("-smp 2 ").contains("tsc=reliable hb.role=reference")
        .contains("-accel tcg,thread=single ");
  }

  @Test
  void aFleetIsSharedOutEvenlyAcrossBuildsEarlierOnesTakingTheRemainder() throws DatasetException {
    java.util.List<KernelBuildName> builds = KernelBuildName.parseList(BuildOptions.DEFAULT_KERNELS);
    BuildOptions fleet = BuildOptions.defaults(dir, dir, builds).withFleet(200, 20, SnapshotFormats.KDUMP);
    assertThat(builds.stream().map(fleet::snapshotsFor)).containsExactly(67, 67, 66);
    assertThat(BuildOptions.defaults(dir, dir, builds).snapshotsFor(builds.get(2)))
        .isEqualTo(BuildOptions.DEFAULT_SNAPSHOTS_PER_BUILD);
    assertThatThrownBy(() -> fleet.snapshotsFor(new KernelBuildName("6.1.0-53-rt-amd64")))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void kdumpFleetsHaveOnlyKdumpsAndNoTwins() {
    for (int dump = 1; dump <= 4; dump++) {
      assertThat(SnapshotFormats.KDUMP.formatOfDump(dump)).isEqualTo(GuestVm.DumpFormat.KDUMP);
      assertThat(SnapshotFormats.KDUMP.twinOf(1, dump)).isFalse();
    }
    assertThat(SnapshotFormats.ALTERNATING.formatOfDump(1)).isEqualTo(GuestVm.DumpFormat.ELF);
    assertThat(SnapshotFormats.ALTERNATING.formatOfDump(2)).isEqualTo(GuestVm.DumpFormat.KDUMP);
    assertThat(SnapshotFormats.ALTERNATING.twinOf(1, 2)).isTrue();
    assertThat(SnapshotFormats.ALTERNATING.twinOf(2, 2)).isFalse();
  }
}
