package io.hybridbridge.datasets;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hb datasets build}. */
@Command(name = "build", mixinStandardHelpOptions = true,
    description = {
        "Boot Debian kernels under QEMU (TCG) and write, per kernel build, a trusted reference (the CPU caught in "
            + "user mode inside an agent, with the boot's full /proc/kallsyms) and fleet snapshots with the "
            + "ground truth the guest printed before each dump, listed in <out>/manifest.json.",
        "Incremental: what the manifest already lists is reused; only missing images are made."})
final class BuildCommand implements Callable<Integer> {
  @Option(names = "--out", paramLabel = "DIR",
      description = "Dataset directory (default: $HB_CACHE/datasets/default, HB_CACHE defaulting to "
          + "~/.cache/hybrid-bridge).")
  Path out;

  @Option(names = "--kernels", paramLabel = "LIST", defaultValue = BuildOptions.DEFAULT_KERNELS,
      description = "Comma-separated Debian kernel build names from bookworm or bookworm-backports "
          + "(default: ${DEFAULT-VALUE}). List them with: hb datasets kernels")
  String kernels;

  @Option(names = "--fleet", paramLabel = "N",
      description = "Build a fleet instead of the default dataset: N snapshots in total across the kernel builds "
          + "(shared out evenly, earlier builds taking the remainder), all kdump-zlib unless --format says "
          + "otherwise, " + BuildOptions.FLEET_DUMPS_PER_BOOT + " to a boot unless --dumps-per-boot says otherwise, "
          + "written to $HB_CACHE/datasets/fleet<N> unless --out says otherwise. Without it: the default dataset, "
          + BuildOptions.DEFAULT_SNAPSHOTS_PER_BUILD + " snapshots per build.")
  Integer fleet;

  @Option(names = "--dumps-per-boot", paramLabel = "N",
      description = "Snapshots taken in one boot, the workload changing between them (default: "
          + BuildOptions.DEFAULT_DUMPS_PER_BOOT + ", with --fleet " + BuildOptions.FLEET_DUMPS_PER_BOOT + ").")
  Integer dumpsPerBoot;

  @Option(names = "--format", paramLabel = "FORMATS",
      description = "Snapshot formats: ALTERNATING (odd-numbered dumps of a boot QEMU ELF cores, even-numbered "
          + "ones kdump-zlib, plus one ELF twin per build) or KDUMP (all kdump-zlib, no twin). Default: "
          + "ALTERNATING, with --fleet KDUMP.")
  SnapshotFormats formats;

  @Option(names = "--memory", paramLabel = "MIB", defaultValue = "" + BuildOptions.DEFAULT_MEMORY_MIB,
      description = "Guest RAM in MiB; the size of an ELF dump (default: ${DEFAULT-VALUE}; generic kernels need "
          + ">= 96, cloud >= 72).")
  int memoryMiB;

  @Option(names = "--extra-processes", paramLabel = "N", defaultValue = "0",
      description = "Long-running processes each fleet boot's workload starts besides its own (default: "
          + "${DEFAULT-VALUE}; at most " + BuildOptions.MAX_EXTRA_PROCESSES + "): a busier guest, e.g. 300 for a VM "
          + "running a few hundred processes.")
  int extraProcesses;

  @Option(names = "--busy-sockets",
      description = "Busier sockets in each fleet boot: short TCP connections leaving TIME_WAIT sockets, a "
          + "stopped listener with a connection (3000 unread bytes) waiting in its accept queue, and ping's raw "
          + "socket. "
          + "TIME_WAIT sockets last 60 s: a step waits out those that would end within 30 s (up to 30 s), then "
          + "makes new ones, so none ends between the guest's capture and the dump.")
  boolean busySockets;

  @Option(names = "--cpu", paramLabel = "MODEL", defaultValue = BuildOptions.DEFAULT_CPU,
      description = "QEMU CPU model and flags, as for qemu -cpu (default: ${DEFAULT-VALUE}).")
  String cpu;

  @Option(names = "--smp", paramLabel = "N", split = ",", defaultValue = "" + BuildOptions.DEFAULT_GUEST_CPUS,
      description = "Virtual CPUs of the guests, as for qemu -smp (default: ${DEFAULT-VALUE}; at most "
          + BuildOptions.MAX_GUEST_CPUS + "). A reference inspects snapshots of as many CPUs as its own: with several "
          + "counts (1,2) each build gets a reference of each, and its boots take the counts in turn.")
  List<Integer> guestCpus;

  @Option(names = "--boot-timeout", paramLabel = "SECONDS", defaultValue = "180",
      description = "How long a guest may take to reach its ready marker (default: ${DEFAULT-VALUE}).")
  int bootTimeoutSeconds;

  @Option(names = "--boot-modules", paramLabel = "LIST", split = ",",
      description = "Modules the workload loads at boot, dependencies added (default: isofs,vfat,dummy).")
  List<String> bootModules = BuildOptions.DEFAULT_BOOT_MODULES;

  @Option(names = "--step-modules", paramLabel = "LIST", split = ",",
      description = "Modules loaded between dumps of one boot, one per step (default: nls_cp437,veth,tun).")
  List<String> stepModules = BuildOptions.DEFAULT_STEP_MODULES;

  @Option(names = "--verify", description = "Recompute the sha256 of images already in the manifest.")
  boolean verify;

  @Option(names = "--busybox", paramLabel = "FILE", defaultValue = "/bin/busybox",
      description = "Static busybox for the guest (default: ${DEFAULT-VALUE}, Debian package busybox-static).")
  Path busybox;

  @Override
  public Integer call() {
    Progress progress = new Progress(System.err);
    try {
      boolean isFleet = fleet != null;
      List<KernelBuildName> builds = KernelBuildName.parseList(kernels);
      int snapshots = isFleet ? fleet : BuildOptions.DEFAULT_SNAPSHOTS_PER_BUILD * builds.size();
      int perBoot = dumpsPerBoot != null ? dumpsPerBoot
          : isFleet ? BuildOptions.FLEET_DUMPS_PER_BOOT : BuildOptions.DEFAULT_DUMPS_PER_BOOT;
      if (snapshots < 0 || perBoot < 1 || memoryMiB < 64 || bootTimeoutSeconds < 1
          || !BuildOptions.validGuestCpus(guestCpus) || extraProcesses < 0
          || extraProcesses > BuildOptions.MAX_EXTRA_PROCESSES) {
        throw new DatasetException("--fleet must be >= 0, --dumps-per-boot >= 1, --memory >= 64, "
            + "--boot-timeout >= 1, --smp distinct counts of 1 to " + BuildOptions.MAX_GUEST_CPUS
            + ", --extra-processes 0 to " + BuildOptions.MAX_EXTRA_PROCESSES);
      }
      GuestVm.requireQemu();
      Path dataset = out != null ? out
          : isFleet ? HbCache.root().resolve("datasets").resolve("fleet" + fleet) : HbCache.defaultDataset();
      SnapshotFormats chosenFormats = formats != null ? formats
          : isFleet ? SnapshotFormats.KDUMP : SnapshotFormats.ALTERNATING;
      BuildOptions options = new BuildOptions(dataset, HbCache.packages(), builds, snapshots, perBoot,
          chosenFormats, memoryMiB, cpu, guestCpus, Duration.ofSeconds(bootTimeoutSeconds), bootModules, stepModules,
          verify, busybox, extraProcesses, busySockets);
      progress.say("building " + options.kernels() + " into " + dataset.toAbsolutePath() + " (a reference each + "
          + snapshots + " snapshots in total, " + perBoot + " per boot, " + chosenFormats + ")");
      new DatasetBuilder(options, progress).build();
      progress.say("dataset ready: " + dataset.toAbsolutePath().resolve(Manifests.FILE_NAME) + " in "
          + String.format("%.1f s", progress.elapsed().toMillis() / 1e3) + "; " + DatasetSize.of(dataset));
      return 0;
    } catch (DatasetException e) {
      System.err.println("hb datasets build: " + e.getMessage());
      return 1;
    }
  }
}
