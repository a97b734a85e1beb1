package io.hybridbridge.datasets;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioArchiveEntry;
import org.apache.commons.compress.archivers.cpio.CpioArchiveOutputStream;
import org.apache.commons.compress.archivers.cpio.CpioConstants;

/**
 * The guest's initramfs: busybox-static, the guest scripts (resources next to this class), the agent, the
 * workload's modules from the kernel's own tree, as a gzip-compressed cpio "newc" archive.
 */
final class Initramfs {
  /** The scripts installed in /bin, from resources {@code guest/<name>}. */
  static final List<String> GUEST_SCRIPTS = List.of("hb-layout", "hb-workload", "hb-worker", "hb-step",
      "hb-capture", "hb-kallsyms", "hb-agent-start", "hb-wait-listen", "hb-busy-sockets");
  /** Every file of the guest that comes from resources: /init, the scripts, the DHCP server's configuration. */
  static final List<String> GUEST_FILES = java.util.stream.Stream.concat(
      java.util.stream.Stream.of("init", "udhcpd.conf"), GUEST_SCRIPTS.stream()).toList();
  static final String MODULES_DIR = "lib/modules/hb";

  enum Kind { DIRECTORY, FILE, SYMLINK, CHAR_DEVICE }

  /** One archive member; {@code content} is the file's bytes or a symlink's target. */
  record Entry(String path, Kind kind, int permissions, byte[] content, int deviceMajor, int deviceMinor) {
    static Entry directory(String path) {
      return new Entry(path, Kind.DIRECTORY, 0755, new byte[0], 0, 0);
    }

    static Entry file(String path, int permissions, byte[] content) {
      return new Entry(path, Kind.FILE, permissions, content, 0, 0);
    }

    static Entry symlink(String path, String target) {
      return new Entry(path, Kind.SYMLINK, 0777, target.getBytes(StandardCharsets.UTF_8), 0, 0);
    }

    static Entry charDevice(String path, int major, int minor) {
      return new Entry(path, Kind.CHAR_DEVICE, 0600, new byte[0], major, minor);
    }
  }

  /** The modules the workload loads: at boot, and one group per workload step (dependencies first). */
  record ModulePlan(List<KernelTree.Module> boot, List<List<KernelTree.Module>> steps) {}

  private final List<Entry> entries;

  Initramfs(List<Entry> entries) {
    this.entries = List.copyOf(entries);
  }

  List<Entry> entries() {
    return entries;
  }

  /** Lays out the guest's file system. */
  static Initramfs forGuest(byte[] busybox, ModulePlan modules) throws DatasetException {
    List<Entry> e = new ArrayList<>();
    for (String dir : List.of("bin", "sbin", "dev", "etc", "etc/hb", "lib", "lib/modules", MODULES_DIR, "proc",
        "sys", "run", "tmp", "mnt", "var", "www")) {
      e.add(Entry.directory(dir));
    }
    // The kernel opens /dev/console for init before /init can mount devtmpfs.
    e.add(Entry.charDevice("dev/console", 5, 1));
    e.add(Entry.file("init", 0755, resource("init")));
    e.add(Entry.file("bin/busybox", 0755, busybox));
    e.add(Entry.symlink("bin/sh", "busybox"));
    for (String script : GUEST_SCRIPTS) {
      e.add(Entry.file("bin/" + script, 0755, resource(script)));
    }
    e.add(Entry.file("sbin/hb-agent", 0755, AgentProgram.bytes()));
    e.add(Entry.file("etc/passwd", 0644, utf8("root:x:0:0:root:/:/bin/sh\n")));
    e.add(Entry.file("etc/group", 0644, utf8("root:x:0:\n")));
    e.add(Entry.file("etc/udhcpd.conf", 0644, resource("udhcpd.conf")));
    e.add(Entry.file("www/index.html", 0644, utf8("<html><body>hb-guest</body></html>\n")));
    List<String> bootStems = new ArrayList<>();
    for (KernelTree.Module m : modules.boot()) {
      bootStems.add(m.stem());
    }
    StringBuilder steps = new StringBuilder();
    for (List<KernelTree.Module> group : modules.steps()) {
      List<String> stems = new ArrayList<>();
      group.forEach(m -> stems.add(m.stem()));
      steps.append(String.join(" ", stems)).append('\n');
    }
    e.add(Entry.file("etc/hb/modules.boot", 0644, utf8(String.join("\n", bootStems) + "\n")));
    e.add(Entry.file("etc/hb/modules.later", 0644, utf8(steps.toString())));
    List<KernelTree.Module> all = new ArrayList<>(modules.boot());
    modules.steps().forEach(all::addAll);
    for (KernelTree.Module m : all) {
      e.add(Entry.file(MODULES_DIR + "/" + m.stem() + ".ko", 0644, KernelTree.loadableBytes(m)));
    }
    return new Initramfs(e);
  }

  /** A digest of every member: the cache key of the written image. */
  String digest() {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (Entry entry : entries) {
        sha.update(utf8(entry.path() + "\0" + entry.kind() + "\0" + entry.permissions() + "\0"
            + entry.deviceMajor() + ":" + entry.deviceMinor() + "\0" + entry.content().length + "\0"));
        sha.update(entry.content());
      }
      return HexFormat.of().formatHex(sha.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }

  /** Writes the gzip-compressed newc archive to {@code out}. */
  void writeTo(OutputStream out) throws IOException {
    try (GZIPOutputStream gzip = new GZIPOutputStream(out, 1 << 16);
        CpioArchiveOutputStream cpio = new CpioArchiveOutputStream(gzip, CpioConstants.FORMAT_NEW)) {
      long inode = 1;
      for (Entry entry : entries) {
        CpioArchiveEntry member = new CpioArchiveEntry(CpioConstants.FORMAT_NEW, entry.path());
        member.setInode(inode++);
        member.setNumberOfLinks(entry.kind() == Kind.DIRECTORY ? 2 : 1);
        member.setMode(typeBits(entry.kind()) | entry.permissions());
        member.setTime(0); // reproducible images
        member.setSize(entry.kind() == Kind.FILE || entry.kind() == Kind.SYMLINK ? entry.content().length : 0);
        if (entry.kind() == Kind.CHAR_DEVICE) {
          member.setRemoteDeviceMaj(entry.deviceMajor());
          member.setRemoteDeviceMin(entry.deviceMinor());
        }
        cpio.putArchiveEntry(member);
        if (member.getSize() > 0) {
          cpio.write(entry.content());
        }
        cpio.closeArchiveEntry();
      }
      cpio.finish();
    }
  }

  /** Writes the image into {@code cacheDir} named by its digest, unless an identical one is there already. */
  Path cachedIn(Path cacheDir) throws DatasetException {
    Path image = cacheDir.resolve("initramfs-" + digest().substring(0, 16) + ".cpio.gz");
    if (Files.exists(image)) {
      return image;
    }
    try {
      Files.createDirectories(cacheDir);
      Path temp = Files.createTempFile(cacheDir, ".initramfs-", ".tmp");
      try {
        try (OutputStream out = Files.newOutputStream(temp)) {
          writeTo(out);
        }
        Files.move(temp, image, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Files.deleteIfExists(temp);
      }
      return image;
    } catch (IOException e) {
      throw new DatasetException("cannot write the initramfs into " + cacheDir + ": " + e.getMessage(), e);
    }
  }

  private static long typeBits(Kind kind) {
    return switch (kind) {
      case DIRECTORY -> CpioConstants.C_ISDIR;
      case FILE -> CpioConstants.C_ISREG;
      case SYMLINK -> CpioConstants.C_ISLNK;
      case CHAR_DEVICE -> CpioConstants.C_ISCHR;
    };
  }

  static byte[] resource(String name) throws DatasetException {
    try (InputStream in = Initramfs.class.getResourceAsStream("guest/" + name)) {
      if (in == null) {
        throw new DatasetException("guest resource " + name + " is missing from the build");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new DatasetException("cannot read guest resource " + name + ": " + e.getMessage(), e);
    }
  }

  /** The host's busybox, which must be statically linked (Debian package busybox-static). */
  static byte[] staticBusybox(Path path) throws DatasetException {
    try {
      if (!Files.isRegularFile(path)) {
        throw new DatasetException(path + " is missing: install the Debian package busybox-static");
      }
      byte[] bytes = Files.readAllBytes(path);
      for (Elf64.ProgramHeader ph : Elf64.parse(bytes).programHeaders()) {
        if (ph.type() == Elf64.PT_INTERP) {
          throw new DatasetException(path + " is dynamically linked: install the Debian package busybox-static");
        }
      }
      return bytes;
    } catch (IOException e) {
      throw new DatasetException("cannot read " + path + ": " + e.getMessage(), e);
    }
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
