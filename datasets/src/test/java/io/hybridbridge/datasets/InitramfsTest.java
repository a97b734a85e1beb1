package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveInputStream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tukaani.xz.LZMA2Options;
import org.tukaani.xz.XZOutputStream;

/** The initramfs file list and archive, from a small kernel tree laid out like a Debian package. */
class InitramfsTest {
  private static final String RELEASE = "6.12.95+deb12-amd64";
  private static final byte[] CDROM = "cdrom module bytes".getBytes(StandardCharsets.UTF_8);
  private static final byte[] ISOFS = "isofs module bytes".getBytes(StandardCharsets.UTF_8);
  private static final Map<String, List<String>> DEPENDS = Map.of("isofs", List.of("cdrom", "crc32c"),
      "cdrom", List.of(), "nls_cp437", List.of(), "dummy", List.of());

  @TempDir Path root;
  private KernelTree tree;
  private final KernelTree.ModuleDependencies deps = m -> DEPENDS.get(m.name());

  @BeforeEach
  void layOutPackage() throws IOException, DatasetException {
    Files.createDirectories(root.resolve("boot"));
    Files.writeString(root.resolve("boot/vmlinuz-" + RELEASE), "kernel");
    Path kernel = Files.createDirectories(root.resolve("lib/modules/" + RELEASE + "/kernel"));
    Files.createDirectories(kernel.resolve("drivers/cdrom"));
    Files.createDirectories(kernel.resolve("fs/isofs"));
    Files.createDirectories(kernel.resolve("fs/nls"));
    Files.createDirectories(kernel.resolve("drivers/net"));
    xz(kernel.resolve("drivers/cdrom/cdrom.ko.xz"), CDROM);
    xz(kernel.resolve("fs/isofs/isofs.ko.xz"), ISOFS);
    Files.writeString(kernel.resolve("fs/nls/nls_cp437.ko"), "plain module");
    Files.writeString(kernel.resolve("drivers/net/dummy.ko"), "dummy module");
    Files.writeString(root.resolve("lib/modules/" + RELEASE + "/modules.builtin"),
        "kernel/lib/crc32c.ko\nkernel/fs/ext4/ext4.ko\n");
    tree = KernelTree.open(root);
  }

  private static void xz(Path file, byte[] content) throws IOException {
    try (OutputStream out = new XZOutputStream(Files.newOutputStream(file), new LZMA2Options())) {
      out.write(content);
    }
  }

  @Test
  void findsImageAndReleaseFromTheFiles() {
    assertThat(tree.kernelImage()).isEqualTo(root.resolve("boot/vmlinuz-" + RELEASE));
    assertThat(tree.release()).isEqualTo(RELEASE);
  }

  @Test
  void dependenciesFirstBuiltinsSkipped() throws DatasetException {
    List<KernelTree.Module> order = tree.loadOrder(List.of("isofs", "dummy"), Set.of(), deps);
    assertThat(order).extracting(KernelTree.Module::name).containsExactly("cdrom", "isofs", "dummy");
    assertThat(tree.loadOrder(List.of("isofs"), Set.of("cdrom"), deps)).extracting(KernelTree.Module::name)
        .containsExactly("isofs");
  }

  @Test
  void unknownOrBuiltinModulesAreClearErrors() {
    assertThatThrownBy(() -> tree.loadOrder(List.of("ext4"), Set.of(), deps))
        .isInstanceOf(DatasetException.class).hasMessageContaining("built in");
    assertThatThrownBy(() -> tree.loadOrder(List.of("nosuch"), Set.of(), deps))
        .isInstanceOf(DatasetException.class).hasMessageContaining("no such module");
  }

  @Test
  void xzModulesAreDecompressedOnTheHost() throws DatasetException {
    KernelTree.Module isofs = tree.loadOrder(List.of("isofs"), Set.of("cdrom"), deps).get(0);
    assertThat(isofs.compressed()).isTrue();
    assertThat(KernelTree.loadableBytes(isofs)).isEqualTo(ISOFS);
  }

  @Test
  void fileListAndArchive() throws DatasetException, IOException {
    Initramfs.ModulePlan plan = new Initramfs.ModulePlan(tree.loadOrder(List.of("isofs"), Set.of(), deps),
        List.of(tree.loadOrder(List.of("nls_cp437"), Set.of("isofs", "cdrom"), deps)));
    byte[] busybox = "busybox".getBytes(StandardCharsets.UTF_8);
    Initramfs initramfs = Initramfs.forGuest(busybox, plan);
    Map<String, Initramfs.Entry> byPath = new HashMap<>();
    initramfs.entries().forEach(e -> byPath.put(e.path(), e));
    assertThat(byPath).containsKeys("init", "bin/busybox", "bin/sh", "sbin/hb-agent", "dev/console",
        "etc/hb/modules.boot", "etc/hb/modules.later", "lib/modules/hb/cdrom.ko", "lib/modules/hb/isofs.ko",
        "lib/modules/hb/nls_cp437.ko");
    for (String script : Initramfs.GUEST_SCRIPTS) {
      assertThat(byPath.get("bin/" + script).permissions()).isEqualTo(0755);
    }
    assertThat(new String(byPath.get("etc/hb/modules.boot").content(), StandardCharsets.UTF_8))
        .isEqualTo("cdrom\nisofs\n");
    assertThat(new String(byPath.get("etc/hb/modules.later").content(), StandardCharsets.UTF_8))
        .isEqualTo("nls_cp437\n");
    assertThat(byPath.get("lib/modules/hb/cdrom.ko").content()).isEqualTo(CDROM);
    assertThat(byPath.get("dev/console").kind()).isEqualTo(Initramfs.Kind.CHAR_DEVICE);

    ByteArrayOutputStream archive = new ByteArrayOutputStream();
    initramfs.writeTo(archive);
    Map<String, CpioArchiveEntry> read = new HashMap<>();
    Map<String, byte[]> contents = new HashMap<>();
    try (CpioArchiveInputStream in = new CpioArchiveInputStream(
        new GZIPInputStream(new ByteArrayInputStream(archive.toByteArray())))) {
      CpioArchiveEntry entry;
      while ((entry = in.getNextCPIOEntry()) != null) {
        read.put(entry.getName(), entry);
        contents.put(entry.getName(), in.readAllBytes());
      }
    }
    assertThat(read.keySet()).isEqualTo(byPath.keySet());
    assertThat(read.get("init").getMode() & 0777).isEqualTo(0755);
    assertThat(read.get("dev/console").isCharacterDevice()).isTrue();
    assertThat(read.get("dev/console").getRemoteDeviceMaj()).isEqualTo(5);
    assertThat(read.get("bin/sh").isSymbolicLink()).isTrue();
    assertThat(new String(contents.get("bin/sh"), StandardCharsets.UTF_8)).isEqualTo("busybox");
    assertThat(contents.get("bin/busybox")).isEqualTo(busybox);
    assertThat(new String(contents.get("init"), StandardCharsets.UTF_8)).startsWith("#!/bin/sh");
  }

  @Test
  void digestFollowsContent() throws DatasetException {
    Initramfs.ModulePlan plan = new Initramfs.ModulePlan(List.of(), List.of());
    Set<String> digests = new HashSet<>();
    digests.add(Initramfs.forGuest(new byte[] {1}, plan).digest());
    digests.add(Initramfs.forGuest(new byte[] {1}, plan).digest());
    digests.add(Initramfs.forGuest(new byte[] {2}, plan).digest());
    assertThat(digests).hasSize(2);
  }

  @Test
  void dynamicBusyboxIsRefused(@TempDir Path dir) throws IOException {
    // /bin/sh-like ELF with a PT_INTERP: reuse the agent's header, turning its PT_LOAD into PT_INTERP
    byte[] elf = AgentProgram.bytes();
    elf[64] = 3;
    Path fake = dir.resolve("busybox");
    Files.write(fake, elf);
    assertThatThrownBy(() -> Initramfs.staticBusybox(fake)).isInstanceOf(DatasetException.class)
        .hasMessageContaining("busybox-static");
  }
}
