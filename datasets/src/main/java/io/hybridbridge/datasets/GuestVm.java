package io.hybridbridge.datasets;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One QEMU guest under TCG (KVM does not run these guests on our machines): ttyS0 on stdio for the host-driven
 * shell, ttyS1 to a file for bulk output, QMP on a unix socket for pausing, registers and memory dumps.
 */
final class GuestVm implements AutoCloseable {
  static final String QEMU = "qemu-system-x86_64";
  /**
   * The kernel command line before hb.role. noirqdebug: PREEMPT_RT kernels thread the 8250 handler, which under
   * TCG often finds its interrupt already served; without it the kernel declares the IRQ spurious ("nobody
   * cared"), disables it and the port stalls in the middle of a large output.
   */
  static final String KERNEL_ARGUMENTS = "console=ttyS0 panic=-1 quiet noirqdebug";
  /**
   * Added on more than one CPU: QEMU's TCG does not keep the virtual CPUs' TSCs in step, so 6.1 finds them out of
   * sync and moves its clock to the HPET, a device counter no memory snapshot holds (its /proc/uptime then cannot be
   * served: measured, every 6.1 snapshot of a 2-CPU guest). A KVM guest on a cloud host has an invariant TSC; this
   * keeps the TSC as there.
   */
  static final String SMP_KERNEL_ARGUMENTS = "tsc=reliable";

  /** How a snapshot file is written: QMP dump-guest-memory format name and our file extension. */
  enum DumpFormat {
    ELF("elf", "elf"), KDUMP("kdump-zlib", "kdump");

    final String qmpName;
    final String extension;

    DumpFormat(String qmpName, String extension) {
      this.qmpName = qmpName;
      this.extension = extension;
    }
  }

  /** What is booted: kernel and initramfs, RAM, QEMU CPU model. */
  /**
   * @param extraProcesses long-running processes a fleet boot's workload starts besides its own (hb.extra)
   * @param busySockets whether a fleet boot's workload also makes TIME_WAIT, accept-queued and raw sockets
   *     (hb.sockets)
   */
  record Machine(Path kernel, Path initrd, int memoryMiB, String cpu, int cpus, int extraProcesses,
      boolean busySockets) {}

  /** The CPU state "info registers" shows while the guest is paused. */
  record Registers(long rip, long rsp, long rflags, int cs, int ss, long cr3, long fsBase, long gsBase,
      String text) {
    boolean userMode() {
      return (cs & 3) == 3;
    }
  }

  private static final Pattern REGISTER = Pattern.compile("\\b(RIP|RSP|RFL|CR3)=([0-9a-f]+)");
  private static final Pattern SEGMENT = Pattern.compile("^(CS|SS|FS|GS) =([0-9a-f]{4}) ([0-9a-f]{16})",
      Pattern.MULTILINE);

  private final Process process;
  private final Path workDir;
  private final GuestConsole console;
  private final BulkChannel bulk;
  private final Qmp qmp;
  /** Stops QEMU when the JVM is stopped (Ctrl-C) before {@link #close} ran. */
  private final Thread killOnExit;

  private GuestVm(Process process, Path workDir, GuestConsole console, BulkChannel bulk, Qmp qmp) {
    this.killOnExit = new Thread(process::destroyForcibly, "stop-qemu");
    Runtime.getRuntime().addShutdownHook(killOnExit);
    this.process = process;
    this.workDir = workDir;
    this.console = console;
    this.bulk = bulk;
    this.qmp = qmp;
  }

  static void requireQemu() throws DatasetException {
    if (!HostCommand.onPath(QEMU)) {
      throw new DatasetException(QEMU + " not found: install the Debian package qemu-system-x86 "
          + "(apt-get install qemu-system-x86, or scripts/system-packages --ensure)");
    }
  }

  /** The QEMU command line; {@code role} goes to the guest's /init through the kernel command line. */
  static List<String> commandLine(Machine machine, String role, Path qmpSocket, Path bulkFile) {
    return List.of(QEMU, "-accel", accelerator(machine.cpus()), "-machine", "q35", "-cpu", machine.cpu(),
        "-smp", Integer.toString(machine.cpus()),
        "-m", machine.memoryMiB() + "M",
        "-nodefaults", "-display", "none", "-vga", "none", "-no-reboot",
        "-kernel", machine.kernel().toString(), "-initrd", machine.initrd().toString(),
        "-append", kernelArguments(machine.cpus()) + " hb.role=" + role
            + (machine.extraProcesses() > 0 ? " hb.extra=" + machine.extraProcesses() : "")
            + (machine.busySockets() ? " hb.sockets=busy" : ""),
        "-serial", "stdio", "-serial", "file:" + bulkFile, "-monitor", "none",
        "-qmp", "unix:" + qmpSocket + ",server=on,wait=off");
  }

  /**
   * QEMU's accelerator for {@code cpus} CPUs. Several vCPUs run on one host thread: with a thread each (QEMU's
   * default), a boot of 6.12 on two vCPUs died once in about a dozen of an int3 Oops in sched_clock_cpu while the
   * kernel patched its own code, one vCPU running code the other had just rewritten.
   */
  static String accelerator(int cpus) {
    return cpus > 1 ? "tcg,thread=single" : "tcg";
  }

  /** The kernel command line of a guest with {@code cpus} CPUs, before its role. */
  static String kernelArguments(int cpus) {
    return cpus > 1 ? KERNEL_ARGUMENTS + " " + SMP_KERNEL_ARGUMENTS : KERNEL_ARGUMENTS;
  }

  /** Starts QEMU; the console log goes to {@code consoleLog}. Call {@link #awaitReady} next. */
  static GuestVm start(Machine machine, String role, Path consoleLog) throws DatasetException {
    requireQemu();
    Path workDir = null;
    Process process = null;
    try {
      // A short private directory: unix socket paths are limited to 108 bytes, and QEMU's -serial file: and
      // -qmp options must not see commas, which a user's --out might contain.
      workDir = Files.createTempDirectory("hb-vm-", PosixFilePermissions.asFileAttribute(
          PosixFilePermissions.fromString("rwx------")));
      Path socket = workDir.resolve("qmp.sock");
      Path bulkFile = workDir.resolve("ttyS1");
      process = new ProcessBuilder(commandLine(machine, role, socket, bulkFile))
          .redirectErrorStream(true).start();
      GuestConsole console = new GuestConsole(process.getInputStream(), process.getOutputStream(), consoleLog);
      Qmp qmp = Qmp.connect(socket, Duration.ofSeconds(30), process);
      return new GuestVm(process, workDir, console, new BulkChannel(bulkFile), qmp);
    } catch (IOException | DatasetException e) {
      if (process != null) {
        process.destroyForcibly();
      }
      deleteQuietly(workDir);
      if (e instanceof DatasetException d) {
        throw d;
      }
      throw new DatasetException("cannot start " + QEMU + ": " + e.getMessage(), e);
    }
  }

  void awaitReady(Duration timeout) throws DatasetException {
    console.awaitLine("HB-READY", 0, timeout, "the guest's ready marker (HB-READY)");
  }

  List<String> shell(String command, Duration timeout) throws DatasetException {
    return console.run(command, timeout);
  }

  GuestConsole console() {
    return console;
  }

  BulkChannel bulk() {
    return bulk;
  }

  void pause() throws DatasetException {
    qmp.execute("stop", null);
  }

  void resume() throws DatasetException {
    qmp.execute("cont", null);
  }

  Registers registers() throws DatasetException {
    String text = qmp.humanMonitor("info registers");
    Map<String, Long> values = new HashMap<>();
    Matcher m = REGISTER.matcher(text);
    while (m.find()) {
      values.put(m.group(1), Long.parseUnsignedLong(m.group(2), 16));
    }
    Matcher s = SEGMENT.matcher(text);
    while (s.find()) {
      values.put(s.group(1), Long.parseLong(s.group(2), 16));
      values.put(s.group(1) + ".base", Long.parseUnsignedLong(s.group(3), 16));
    }
    if (!values.containsKey("RIP") || !values.containsKey("CS")) {
      throw new DatasetException("cannot read RIP/CS from QEMU's 'info registers':\n" + text);
    }
    return new Registers(values.get("RIP"), values.getOrDefault("RSP", -1L), values.getOrDefault("RFL", -1L),
        values.get("CS").intValue(), values.getOrDefault("SS", -1L).intValue(), values.getOrDefault("CR3", -1L),
        values.getOrDefault("FS.base", -1L), values.getOrDefault("GS.base", -1L), text);
  }

  /** Dumps guest memory to {@code file} (synchronous; QEMU stops the guest meanwhile and restores its state). */
  void dump(Path file, DumpFormat format) throws DatasetException {
    if (!process.isAlive()) {
      throw new DatasetException("cannot dump: the guest is gone. Last console lines:\n" + console.lastLines(20));
    }
    Path written = format == DumpFormat.KDUMP ? file.resolveSibling(file.getFileName() + ".flat") : file;
    try {
      qmp.execute("dump-guest-memory", qmp.arguments().put("paging", false)
          .put("protocol", "file:" + written.toAbsolutePath()).put("format", format.qmpName));
      if (!Files.isRegularFile(written) || Files.size(written) == 0) {
        throw new DatasetException("dump-guest-memory reported success but " + written + " is missing or empty");
      }
      if (format == DumpFormat.KDUMP && FlattenedKdump.isFlattened(written)) {
        FlattenedKdump.reassemble(written, file);
        Files.delete(written);
      } else if (!written.equals(file)) {
        Files.move(written, file);
      }
      Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    } catch (IOException e) {
      throw new DatasetException("dump to " + file + " failed: " + e.getMessage(), e);
    } catch (DatasetException e) {
      throw new DatasetException("dump to " + file + " failed: " + e.getMessage()
          + " (is the disk full? see df " + file.getParent() + ")", e);
    }
  }

  @Override
  public void close() {
    try {
      if (process.isAlive()) {
        try {
          qmp.execute("quit", null);
        } catch (DatasetException ignored) {
          // QEMU may close the socket before answering
        }
        if (!process.waitFor(5, TimeUnit.SECONDS)) {
          process.destroyForcibly();
          process.waitFor(5, TimeUnit.SECONDS);
        }
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    } finally {
      qmp.close();
      deleteQuietly(workDir);
      try {
        Runtime.getRuntime().removeShutdownHook(killOnExit);
      } catch (IllegalStateException alreadyShuttingDown) {
        // the hook runs anyway; QEMU is gone by then
      }
    }
  }

  private static void deleteQuietly(Path dir) {
    if (dir == null) {
      return;
    }
    try {
      FileTrees.deleteRecursively(dir);
    } catch (IOException ignored) {
      // a temporary directory; nothing of the dataset
    }
  }
}
