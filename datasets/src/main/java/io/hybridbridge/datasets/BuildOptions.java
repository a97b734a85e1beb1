package io.hybridbridge.datasets;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * What {@code hb datasets build} makes: per kernel build a reference, and {@code fleet} snapshots in total across
 * the kernel builds (shared out evenly, earlier builds taking the remainder) taken {@code dumpsPerBoot} to a boot,
 * written in {@code formats}.
 */
public record BuildOptions(
    Path out,
    Path packagesDir,
    List<KernelBuildName> kernels,
    int fleet,
    int dumpsPerBoot,
    SnapshotFormats formats,
    int memoryMiB,
    String cpu,
    List<Integer> guestCpus,
    Duration bootTimeout,
    List<String> bootModules,
    List<String> stepModules,
    boolean verify,
    Path busybox,
    int extraProcesses,
    boolean busySockets) {

  public static final String DEFAULT_KERNELS = "6.1.0-53-amd64,6.1.0-53-cloud-amd64,6.12.95+deb12-amd64";
  /** Snapshots per kernel build of the default dataset. */
  public static final int DEFAULT_SNAPSHOTS_PER_BUILD = 4;
  public static final int DEFAULT_DUMPS_PER_BOOT = 2;
  /**
   * Dumps per boot of a fleet ({@code --fleet N}): a boot costs 3-10 s plus the workload start, a dump with its
   * ground truth ≈3 s, so 20 to a boot spends most of the time on snapshots; every step still changes the
   * workload (a new sleep, a new listener, a module for the first steps).
   */
  public static final int FLEET_DUMPS_PER_BOOT = 20;
  /** Generic kernels need 96 MiB to boot reliably here, cloud 72 MiB; 128 MiB leaves room for the workload. */
  public static final int DEFAULT_MEMORY_MIB = 128;
  /**
   * QEMU's CPU model under TCG (-cpu), without CMPXCHG16B: QEMU 7.2's TCG mis-executes the per-CPU
   * cmpxchg16b of 6.12's SLUB (double faults and freelist corruption within seconds: 4 of 4 boots of
   * 6.12.95+deb12-cloud-amd64 died, 0 of 3 without it); without CX16 the kernel takes its lock-based path.
   */
  public static final String DEFAULT_CPU = "qemu64,-cx16";
  /**
   * Virtual CPUs of the dataset's boots (-smp): the kernel's per-CPU loops follow the reference's possible CPUs, so a
   * reference inspects snapshots of as many CPUs as its own, and a dataset of several counts has a reference per
   * count (see {@link #guestCpus}).
   */
  public static final int DEFAULT_GUEST_CPUS = 1;
  /** The most extra processes a fleet boot's workload starts (each takes ≈ 50 KiB of the guest's kernel memory). */
  public static final int MAX_EXTRA_PROCESSES = 2000;
  /** The most virtual CPUs a guest gets here (TCG on this 2-core machine). */
  public static final int MAX_GUEST_CPUS = 8;
  /** isofs needs cdrom and vfat needs fat in every flavour of both series; dummy stands alone. */
  public static final List<String> DEFAULT_BOOT_MODULES = List.of("isofs", "vfat", "dummy");
  /** Loaded by the workload steps between dumps of one boot, one per step. */
  public static final List<String> DEFAULT_STEP_MODULES = List.of("nls_cp437", "veth", "tun");

  /**
   * @param guestCpus virtual CPUs of the boots, each count once: per kernel build a reference of each count, and
   *     fleet boot {@code b} (from 1) with {@code guestCpus[(b - 1) % size]}, so a fleet of mixed sizes is made by
   *     listing its sizes
   */
  public BuildOptions {
    if (fleet < 0 || dumpsPerBoot < 1 || memoryMiB < 64 || formats == null || !validGuestCpus(guestCpus)
        || extraProcesses < 0 || extraProcesses > MAX_EXTRA_PROCESSES) {
      throw new IllegalArgumentException("fleet >= 0, dumps per boot >= 1, memory >= 64 MiB, distinct guest CPU "
          + "counts of 1 to " + MAX_GUEST_CPUS + ", 0 to " + MAX_EXTRA_PROCESSES + " extra processes");
    }
    guestCpus = List.copyOf(guestCpus);
    kernels = List.copyOf(kernels);
    bootModules = List.copyOf(bootModules);
    stepModules = List.copyOf(stepModules);
  }

  /** The defaults, writing to {@code out} and caching packages in {@code packagesDir}. */
  public static BuildOptions defaults(Path out, Path packagesDir, List<KernelBuildName> kernels) {
    return new BuildOptions(out, packagesDir, kernels, DEFAULT_SNAPSHOTS_PER_BUILD * kernels.size(),
        DEFAULT_DUMPS_PER_BOOT, SnapshotFormats.ALTERNATING, DEFAULT_MEMORY_MIB, DEFAULT_CPU,
        List.of(DEFAULT_GUEST_CPUS), Duration.ofSeconds(180), DEFAULT_BOOT_MODULES, DEFAULT_STEP_MODULES, false,
        Path.of("/bin/busybox"), 0, false);
  }

  /** Whether {@code counts} is a list of guest CPU counts a dataset can have: some, each once, 1 to the most. */
  public static boolean validGuestCpus(List<Integer> counts) {
    return !counts.isEmpty() && counts.stream().allMatch(n -> n >= 1 && n <= MAX_GUEST_CPUS)
        && counts.stream().distinct().count() == counts.size();
  }

  /** {@code newFleet} snapshots in total, {@code perBoot} to a boot, in {@code newFormats}. */
  public BuildOptions withFleet(int newFleet, int perBoot, SnapshotFormats newFormats) {
    return new BuildOptions(out, packagesDir, kernels, newFleet, perBoot, newFormats, memoryMiB, cpu, guestCpus,
        bootTimeout, bootModules, stepModules, verify, busybox, extraProcesses, busySockets);
  }

  /** Boots with {@code cpus} virtual CPUs: a reference of each count, fleet boots taking them in turn. */
  public BuildOptions withGuestCpus(Integer... cpus) {
    return new BuildOptions(out, packagesDir, kernels, fleet, dumpsPerBoot, formats, memoryMiB, cpu,
        List.of(cpus), bootTimeout, bootModules, stepModules, verify, busybox, extraProcesses, busySockets);
  }

  /** The virtual CPUs of fleet boot {@code boot} (numbered from 1). */
  public int cpusOfBoot(int boot) {
    return guestCpus.get((boot - 1) % guestCpus.size());
  }

  /**
   * The directory (under the build's) of the reference with {@code cpus} CPUs: "reference" in a dataset of one
   * count, as before datasets had several; "reference-2cpu" and so on in one of several.
   */
  public String referenceName(int cpus) {
    return guestCpus.size() == 1 ? "reference" : "reference-" + cpus + "cpu";
  }

  /** Every boot, the reference's included, on QEMU CPU model {@code model} (as for {@code qemu -cpu}). */
  public BuildOptions withCpu(String model) {
    return new BuildOptions(out, packagesDir, kernels, fleet, dumpsPerBoot, formats, memoryMiB, model, guestCpus,
        bootTimeout, bootModules, stepModules, verify, busybox, extraProcesses, busySockets);
  }

  /** Every boot, the reference's included, with {@code mib} MiB of RAM. */
  public BuildOptions withMemory(int mib) {
    return new BuildOptions(out, packagesDir, kernels, fleet, dumpsPerBoot, formats, mib, cpu, guestCpus,
        bootTimeout, bootModules, stepModules, verify, busybox, extraProcesses, busySockets);
  }

  /**
   * A busier fleet: the workload of every fleet boot also starts {@code n} long-running processes ({@code sleep}s,
   * each its own address space), as a VM running a few hundred processes does.
   */
  public BuildOptions withExtraProcesses(int n) {
    return new BuildOptions(out, packagesDir, kernels, fleet, dumpsPerBoot, formats, memoryMiB, cpu, guestCpus,
        bootTimeout, bootModules, stepModules, verify, busybox, n, busySockets);
  }

  /**
   * Busier sockets in every fleet boot: short TCP connections that leave {@code TIME_WAIT} sockets, a stopped
   * listener whose connection waits in its accept queue with unread bytes, ping's raw socket (guest script {@code
   * hb-busy-sockets}). {@code TIME_WAIT} sockets end 60 s after closing, so a step waits out those that would end
   * within 30 s and then makes new ones: none ends between the guest's capture and the dump.
   */
  public BuildOptions withBusySockets() {
    return new BuildOptions(out, packagesDir, kernels, fleet, dumpsPerBoot, formats, memoryMiB, cpu, guestCpus,
        bootTimeout, bootModules, stepModules, verify, busybox, extraProcesses, true);
  }

  public BuildOptions withFleet(int newFleet) {
    return withFleet(newFleet, dumpsPerBoot, formats);
  }

  /** This build's share of the fleet: {@code fleet} split evenly in the order of {@code kernels}. */
  public int snapshotsFor(KernelBuildName build) {
    int index = kernels.indexOf(build);
    if (index < 0) {
      throw new IllegalArgumentException(build + " is not among " + kernels);
    }
    return fleet / kernels.size() + (index < fleet % kernels.size() ? 1 : 0);
  }
}
