package io.hybridbridge.datasets;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotRole;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Builds a dataset: per kernel build a reference and fleet snapshots with their ground truth, incrementally.
 *
 * <p>Each build's new files are made under {@code <out>/.staging/<build>/} and moved into place only when the
 * whole build succeeded; then the manifest is rewritten atomically. A failed build leaves neither files nor
 * manifest entries behind.
 */
public final class DatasetBuilder {
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final Duration COMMAND_TIMEOUT = Duration.ofMinutes(2);
  private static final Duration KALLSYMS_TIMEOUT = Duration.ofMinutes(5);
  private static final int AGENT_ATTEMPTS = 200;
  private static final Pattern AGENT_PID = Pattern.compile("HB-AGENT pid=(\\d+)");
  private static final Pattern MAPS_LINE = Pattern.compile(
      "^([0-9a-f]+)-([0-9a-f]+) (\\S{4}) [0-9a-f]+ \\S+ \\d+\\s*(.*)$");
  private static final Pattern BOOT_DIR = Pattern.compile(".*/boot(\\d+)/.*");

  private final BuildOptions options;
  private final Progress progress;
  private final KernelPackages packages;
  private byte[] busybox;
  /** The recipe of each CPU count of the options. */
  private final Map<Integer, String> recipes = new LinkedHashMap<>();

  public DatasetBuilder(BuildOptions options, Progress progress) {
    this.options = options;
    this.progress = progress;
    this.packages = new KernelPackages(options.packagesDir(), progress);
  }

  /** Builds every requested kernel build in turn; the manifest is updated after each. */
  public void build() throws DatasetException {
    Path out = options.out().toAbsolutePath();
    try {
      Files.createDirectories(out);
    } catch (IOException e) {
      throw new DatasetException("cannot create the output directory " + out + ": " + e.getMessage(), e);
    }
    try (FileChannel lockFile = FileChannel.open(out.resolve(".lock"), StandardOpenOption.CREATE,
        StandardOpenOption.WRITE); FileLock lock = lockFile.tryLock()) {
      if (lock == null) {
        throw new DatasetException("another 'hb datasets build' is writing " + out + "; wait for it to finish");
      }
      FileTrees.deleteRecursively(out.resolve(".staging")); // leftovers of a run that was killed
      busybox = Initramfs.staticBusybox(options.busybox());
      for (int cpus : options.guestCpus()) {
        recipes.put(cpus, Recipe.of(options, busybox, cpus));
      }
      try {
        for (KernelBuildName build : options.kernels()) {
          buildOne(out, build);
        }
      } finally {
        FileTrees.deleteRecursively(out.resolve(".staging"));
      }
    } catch (IOException e) {
      throw new DatasetException("cannot lock or clean " + out + ": " + e.getMessage(), e);
    }
  }

  private void buildOne(Path out, KernelBuildName build) throws DatasetException {
    long start = System.nanoTime();
    List<ManifestEntry> kept = new ArrayList<>();
    List<ManifestEntry> dropped = new ArrayList<>();
    Set<Integer> haveReferences = new HashSet<>();
    int haveSnapshots = 0;
    int lastBoot = 0;
    for (ManifestEntry e : Manifests.read(out).getEntries()) {
      if (!e.getKernelBuild().equals(build.name())) {
        continue;
      }
      String problem = problemWith(out, e);
      if (problem != null) {
        progress.say(build + ": replacing " + e.getId() + ": " + problem);
        dropped.add(e);
        continue;
      }
      kept.add(e);
      if (e.getRole() == SnapshotRole.REFERENCE) {
        haveReferences.add(cpusOf(e));
      } else {
        if (!e.getLabels().containsKey("sameMomentAs")) { // a twin is not a moment of its own
          haveSnapshots++;
        }
        Matcher m = BOOT_DIR.matcher("/" + e.getPath());
        if (m.matches()) {
          lastBoot = Math.max(lastBoot, Integer.parseInt(m.group(1)));
        }
      }
    }
    int missing = Math.max(0, options.snapshotsFor(build) - haveSnapshots);
    List<Integer> missingReferences = new ArrayList<>(options.guestCpus());
    missingReferences.removeAll(haveReferences);
    if (missingReferences.isEmpty() && missing == 0) {
      progress.say(build + ": up to date (" + (haveReferences.size() == 1 ? "reference" : haveReferences.size()
          + " references") + " + " + haveSnapshots + " snapshots)");
      if (!dropped.isEmpty()) {
        Manifests.replaceBuild(out, build.name(), kept);
        deleteFilesOf(out, dropped, kept);
      }
      return;
    }
    KernelTree tree = packages.unpacked(build);
    Path initrd = initramfs(build, tree);
    Path staging = out.resolve(".staging").resolve(build.name());
    List<ManifestEntry> made = new ArrayList<>();
    try {
      FileTrees.deleteRecursively(staging);
      Files.createDirectories(staging);
      for (int cpus : missingReferences) {
        made.add(reference(build, tree, initrd, staging, cpus));
      }
      int boot = lastBoot;
      while (missing > 0) {
        boot++;
        int dumps = Math.min(options.dumpsPerBoot(), missing);
        made.addAll(fleetBoot(build, tree, initrd, staging, boot, dumps));
        missing -= dumps;
      }
      promote(staging, out.resolve(build.name()));
      List<ManifestEntry> all = new ArrayList<>(kept);
      all.addAll(made);
      Manifests.replaceBuild(out, build.name(), all);
      deleteFilesOf(out, dropped, all);
      progress.say(build + ": done in " + Progress.seconds(start) + " (" + made.size() + " new images)");
    } catch (IOException e) {
      throw new DatasetException(build + ": cannot write under " + out + ": " + e.getMessage()
          + keptConsoleLogs(build, staging), e);
    } catch (DatasetException e) {
      throw new DatasetException(build + ": " + e.getMessage() + keptConsoleLogs(build, staging), e);
    } finally {
      try {
        FileTrees.deleteRecursively(staging);
      } catch (IOException e) {
        progress.say("warning: cannot remove " + staging + ": " + e.getMessage());
      }
    }
  }

  /** Copies the console logs of a failed build out of its staging directory, which is about to go. */
  private static String keptConsoleLogs(KernelBuildName build, Path staging) {
    try (Stream<Path> walk = Files.walk(staging)) {
      List<Path> logs = walk.filter(p -> p.getFileName().toString().equals("console.log")).toList();
      if (logs.isEmpty()) {
        return "";
      }
      Path kept = Files.createTempDirectory("hb-failed-" + build.name().replace('+', '_') + "-");
      for (Path log : logs) {
        Path target = kept.resolve(staging.relativize(log).toString());
        Files.createDirectories(target.getParent());
        Files.copy(log, target);
      }
      return "\n(console logs of the failed build kept in " + kept + ")";
    } catch (IOException e) {
      return "";
    }
  }

  /** Deletes what only {@code dropped} entries used: images, ground truth, boot directories. */
  private void deleteFilesOf(Path out, List<ManifestEntry> dropped, List<ManifestEntry> current) {
    Set<String> used = new HashSet<>();
    for (ManifestEntry e : current) {
      used.addAll(filesOf(e));
      used.add(String.valueOf(e.getVmId()));
    }
    for (ManifestEntry e : dropped) {
      List<String> paths = new ArrayList<>(filesOf(e));
      paths.add(String.valueOf(e.getVmId()));
      for (String path : paths) {
        if (!used.contains(path) && !path.equals("null")) {
          try {
            FileTrees.deleteRecursively(out.resolve(path));
          } catch (IOException ex) {
            progress.say("warning: cannot delete " + out.resolve(path) + ": " + ex.getMessage());
          }
        }
      }
    }
  }

  private static List<String> filesOf(ManifestEntry e) {
    List<String> files = new ArrayList<>(List.of(e.getPath()));
    for (String path : new String[] {e.getGroundTruthPath(), e.getKallsymsPath(), e.getLabels().get("agentPath")}) {
      if (path != null) {
        files.add(path);
      }
    }
    return files;
  }

  /** Why an existing manifest entry can no longer be trusted, or null when it is fine. */
  private String problemWith(Path out, ManifestEntry e) throws DatasetException {
    Path image = out.resolve(e.getPath());
    try {
      if (!Files.isRegularFile(image)) {
        return "its image " + image + " is missing";
      }
      if (Files.size(image) != e.getSizeBytes()) {
        return "its image " + image + " changed size";
      }
    } catch (IOException ex) {
      return "its image " + image + " is unreadable";
    }
    if (e.getGroundTruthPath() != null && !Files.isRegularFile(out.resolve(e.getGroundTruthPath())
        .resolve("truth.json"))) {
      return "its ground truth is missing";
    }
    if (e.getKallsymsPath() != null && !Files.isRegularFile(out.resolve(e.getKallsymsPath()))) {
      return "its kallsyms is missing";
    }
    if (cpusOf(e) == null) {
      return "made by another recipe (guest scripts, busybox, CPU model or count, RAM or modules changed)";
    }
    if (options.verify() && !SnapshotFiles.sha256(image).equals(e.getSha256())) {
      return "its image " + image + " no longer matches its sha256";
    }
    return null;
  }

  private Path initramfs(KernelBuildName build, KernelTree tree) throws DatasetException {
    KernelTree.ModuleDependencies deps = KernelTree.ModuleDependencies.modinfo();
    Set<String> loaded = new HashSet<>();
    List<KernelTree.Module> boot = tree.loadOrder(options.bootModules(), loaded, deps);
    boot.forEach(m -> loaded.add(m.name()));
    List<List<KernelTree.Module>> steps = new ArrayList<>();
    for (String module : options.stepModules()) {
      List<KernelTree.Module> group = tree.loadOrder(List.of(module), loaded, deps);
      group.forEach(m -> loaded.add(m.name()));
      steps.add(group);
    }
    Initramfs initramfs = Initramfs.forGuest(busybox, new Initramfs.ModulePlan(boot, steps));
    Path image = initramfs.cachedIn(options.packagesDir().resolve("initramfs").resolve(build.name()));
    progress.say(build + ": initramfs " + image.getFileName() + " (boot modules " + stems(boot) + ")");
    return image;
  }

  /** The CPU count of the options whose recipe made {@code e}; null if none did. */
  private Integer cpusOf(ManifestEntry e) {
    String recipe = e.getLabels().get("recipe");
    for (Map.Entry<Integer, String> r : recipes.entrySet()) {
      if (r.getValue().equals(recipe)) {
        return r.getKey();
      }
    }
    return null;
  }

  /** The labels every entry made now has: its recipe, CPU count, RAM and kernel release. */
  private Map<String, String> labels(int cpus, KernelTree tree) {
    Map<String, String> labels = new LinkedHashMap<>();
    labels.put("recipe", recipes.get(cpus));
    labels.put("cpus", Integer.toString(cpus));
    labels.put("memoryMiB", Integer.toString(options.memoryMiB()));
    labels.put("kernelRelease", tree.release());
    return labels;
  }

  private GuestVm.Machine machine(KernelTree tree, Path initrd, int cpus) {
    return new GuestVm.Machine(tree.kernelImage(), initrd, options.memoryMiB(), options.cpu(), cpus,
        options.extraProcesses(), options.busySockets());
  }

  /** "128 MiB", or "128 MiB, 2 CPUs". */
  private String guestSize(int cpus) {
    return options.memoryMiB() + " MiB" + (cpus == 1 ? "" : ", " + cpus + " CPUs");
  }

  private static String stems(List<KernelTree.Module> modules) {
    List<String> names = new ArrayList<>();
    modules.forEach(m -> names.add(m.stem()));
    return String.join(" ", names);
  }

  // ---------------------------------------------------------------------------------------------- reference

  private ManifestEntry reference(KernelBuildName build, KernelTree tree, Path initrd, Path staging, int cpus)
      throws DatasetException, IOException {
    String name = options.referenceName(cpus);
    Path dir = Files.createDirectories(staging.resolve(name));
    progress.say(build + ": booting the reference (" + guestSize(cpus) + ")");
    long bootStart = System.nanoTime();
    try (GuestVm vm = GuestVm.start(machine(tree, initrd, cpus), "reference", dir.resolve("console.log"))) {
      vm.awaitReady(options.bootTimeout());
      progress.say(build + ": reference ready after " + Progress.seconds(bootStart));
      Captured truth = capture(vm, "reference");
      long kallsymsStart = System.nanoTime();
      long from = vm.bulk().size();
      GuestConsole.Pending printing = vm.console().send("hb-kallsyms");
      byte[] frame = vm.bulk().awaitFrame("@@HB-BEGIN kallsyms", "@@HB-END kallsyms", from, KALLSYMS_TIMEOUT,
          vm.console());
      vm.console().await(printing, COMMAND_TIMEOUT);
      byte[] kallsyms = java.util.Arrays.copyOf(frame, Math.max(0, frame.length - 1)); // the framing newline
      if (kallsyms.length == 0) {
        throw new DatasetException(build + ": the reference printed an empty /proc/kallsyms");
      }
      Files.write(dir.resolve("kallsyms"), kallsyms);
      progress.say(String.format("%s: kallsyms %.1f MB over ttyS1 in %s", build, kallsyms.length / 1e6,
          Progress.seconds(kallsymsStart)));
      Agent agent = startAgent(vm, cpus);
      CaughtAgent caught = catchAgentInUserMode(build, vm, agent);
      Path image = dir.resolve("memory.elf");
      requireDiskSpace(image);
      long dumpStart = System.currentTimeMillis();
      vm.dump(image, GuestVm.DumpFormat.ELF);
      long dumpEnd = System.currentTimeMillis();
      List<SnapshotFiles.NotedCpu> noted = SnapshotFiles.qemuNotes(image);
      if (noted.isEmpty() || !noted.get(0).userMode() || noted.get(0).rip() != caught.registers().rip()) {
        throw new DatasetException(build + ": the reference dump's QEMU note does not show the CPU in user mode "
            + "at " + GroundTruth.hex(caught.registers().rip()) + ": " + noted);
      }
      truth.writeTo(dir.resolve("truth"), dumpStart, dumpEnd);
      Map<String, Object> agentJson = new LinkedHashMap<>();
      agentJson.put("pid", agent.pid());
      agentJson.put("executable", "/sbin/hb-agent");
      agentJson.put("executableStart", GroundTruth.hex(agent.executableStart()));
      agentJson.put("executableEnd", GroundTruth.hex(agent.executableEnd()));
      agentJson.put("entry", GroundTruth.hex(AgentProgram.ENTRY));
      agentJson.put("maps", agent.maps());
      agentJson.put("attempts", caught.attempts());
      agentJson.put("registers", registersJson(caught.registers()));
      agentJson.put("dumpNote", notedJson(noted.get(0)));
      agentJson.put("infoRegisters", caught.registers().text());
      Files.write(dir.resolve("agent.json"), JSON.writeValueAsBytes(agentJson));
      progress.say(String.format("%s: reference dumped (agent pid %d, RIP %s, CS %#x, %d tries) in %s", build,
          agent.pid(), GroundTruth.hex(caught.registers().rip()), caught.registers().cs(), caught.attempts(),
          Progress.seconds(bootStart)));
      String rel = build.name() + "/" + name + "/";
      Map<String, String> labels = labels(cpus, tree);
      labels.put("qemuFormat", GuestVm.DumpFormat.ELF.qmpName);
      labels.put("agentPid", Integer.toString(agent.pid()));
      labels.put("agentPath", rel + "agent.json");
      return entry(build, name, SnapshotRole.REFERENCE, image, rel + "memory.elf", truth.truth().bootId(),
          dumpStart, rel + "truth", rel + "kallsyms", build.name() + "/" + name, labels);
    }
  }

  private record Agent(int pid, long executableStart, long executableEnd, List<String> maps) {}

  private record CaughtAgent(GuestVm.Registers registers, int attempts) {}

  private Agent startAgent(GuestVm vm, int cpus) throws DatasetException {
    // On several CPUs the agent is pinned to CPU 0: the reference's machine starts from the first CPU's state in the
    // dump, which must be the agent's (unpinned, CPU 0 never ran it in 200 pauses in one of five reference boots).
    List<String> lines = vm.shell(cpus > 1 ? "taskset 1 hb-agent-start" : "hb-agent-start",
        COMMAND_TIMEOUT);
    int pid = -1;
    List<String> maps = new ArrayList<>();
    long start = -1;
    long end = -1;
    boolean inMaps = false;
    for (String line : lines) {
      Matcher p = AGENT_PID.matcher(line);
      if (p.find()) {
        pid = Integer.parseInt(p.group(1));
        inMaps = true;
        continue;
      }
      if (line.contains("HB-AGENT-END")) {
        inMaps = false;
      }
      if (inMaps) {
        maps.add(line);
        Matcher m = MAPS_LINE.matcher(line);
        if (m.matches() && m.group(3).charAt(2) == 'x' && m.group(4).equals("/sbin/hb-agent")) {
          start = Long.parseUnsignedLong(m.group(1), 16);
          end = Long.parseUnsignedLong(m.group(2), 16);
        }
      }
    }
    if (pid < 0 || start < 0) {
      throw new DatasetException("the guest did not report the agent's pid and executable mapping:\n  | "
          + String.join("\n  | ", lines));
    }
    return new Agent(pid, start, end, maps);
  }

  /** Pauses the guest until the CPU is caught in user mode inside the agent's code; leaves it paused. */
  private CaughtAgent catchAgentInUserMode(KernelBuildName build, GuestVm vm, Agent agent)
      throws DatasetException {
    GuestVm.Registers last = null;
    for (int attempt = 1; attempt <= AGENT_ATTEMPTS; attempt++) {
      vm.pause();
      last = vm.registers();
      if (last.userMode() && Long.compareUnsigned(last.rip(), agent.executableStart()) >= 0
          && Long.compareUnsigned(last.rip(), agent.executableEnd()) < 0) {
        return new CaughtAgent(last, attempt);
      }
      vm.resume();
      try {
        Thread.sleep(20 + attempt % 7 * 5); // vary the phase against the guest's timer tick
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new DatasetException("interrupted while catching the agent", e);
      }
    }
    throw new DatasetException(build + ": the CPU was never in user mode inside the agent in " + AGENT_ATTEMPTS
        + " pauses (last: CS " + Integer.toHexString(last.cs()) + ", RIP " + GroundTruth.hex(last.rip()) + ")");
  }

  private static Map<String, Object> notedJson(SnapshotFiles.NotedCpu cpu) {
    return hexFields("rip", cpu.rip(), "rsp", cpu.rsp(), "rflags", cpu.rflags(), "cs", cpu.cs(), "cr3", cpu.cr3(),
        "kernelGsBase", cpu.kernelGsBase());
  }

  private static Map<String, Object> registersJson(GuestVm.Registers r) {
    return hexFields("rip", r.rip(), "rsp", r.rsp(), "rflags", r.rflags(), "cs", r.cs(), "ss", r.ss(),
        "cr3", r.cr3(), "fsBase", r.fsBase(), "gsBase", r.gsBase());
  }

  /** Alternating names and numbers to a JSON object of hex strings. */
  private static Map<String, Object> hexFields(Object... namesAndValues) {
    Map<String, Object> json = new LinkedHashMap<>();
    for (int i = 0; i < namesAndValues.length; i += 2) {
      json.put((String) namesAndValues[i], GroundTruth.hex(((Number) namesAndValues[i + 1]).longValue()));
    }
    return json;
  }

  // ---------------------------------------------------------------------------------------------- fleet

  /** One boot of the fleet workload, {@code dumps} snapshots in the formats the options ask for. */
  private List<ManifestEntry> fleetBoot(KernelBuildName build, KernelTree tree, Path initrd, Path staging,
      int boot, int dumps) throws DatasetException, IOException {
    String bootName = "boot" + boot;
    Path dir = Files.createDirectories(staging.resolve(bootName));
    int cpus = options.cpusOfBoot(boot);
    progress.say(build + ": booting " + bootName + " (" + guestSize(cpus) + ", " + dumps + " dumps)");
    long bootStart = System.nanoTime();
    List<ManifestEntry> entries = new ArrayList<>();
    try (GuestVm vm = GuestVm.start(machine(tree, initrd, cpus), "fleet", dir.resolve("console.log"))) {
      vm.awaitReady(options.bootTimeout());
      progress.say(build + ": " + bootName + " ready after " + Progress.seconds(bootStart));
      for (int dump = 1; dump <= dumps; dump++) {
        if (dump > 1) {
          vm.shell("hb-step " + dump, COMMAND_TIMEOUT);
        }
        String name = "dump" + dump;
        Captured truth = capture(vm, bootName + "/" + name);
        GuestVm.DumpFormat format = options.formats().formatOfDump(dump);
        Path image = dir.resolve(name + "." + format.extension);
        requireDiskSpace(image);
        // One kdump per build also gets an ELF twin of the same paused moment, so readers can be compared
        // page for page across formats.
        boolean twin = options.formats().twinOf(boot, dump);
        Path twinImage = dir.resolve(name + "-twin." + GuestVm.DumpFormat.ELF.extension);
        long dumpStart = System.currentTimeMillis();
        if (twin) {
          requireDiskSpace(twinImage);
          vm.pause();
        }
        try {
          vm.dump(image, format);
          if (twin) {
            vm.dump(twinImage, GuestVm.DumpFormat.ELF);
          }
        } finally {
          if (twin) {
            vm.resume();
          }
        }
        long dumpEnd = System.currentTimeMillis();
        truth.writeTo(dir.resolve(name + ".truth"), dumpStart, dumpEnd);
        String rel = build.name() + "/" + bootName + "/";
        Map<String, String> labels = labels(cpus, tree);
        labels.put("qemuFormat", format.qmpName);
        labels.put("step", Integer.toString(dump));
        String id = bootName + "/" + name;
        entries.add(entry(build, id, SnapshotRole.SNAPSHOT, image,
            rel + image.getFileName(), truth.truth().bootId(), dumpStart, rel + name + ".truth", null,
            build.name() + "/" + bootName, labels));
        if (twin) {
          Map<String, String> twinLabels = new LinkedHashMap<>(labels);
          twinLabels.put("qemuFormat", GuestVm.DumpFormat.ELF.qmpName);
          twinLabels.put("sameMomentAs", build.name() + "/" + id);
          entries.add(entry(build, id + "-twin", SnapshotRole.SNAPSHOT, twinImage,
              rel + twinImage.getFileName(), truth.truth().bootId(), dumpStart, rel + name + ".truth", null,
              build.name() + "/" + bootName, twinLabels));
        }
        progress.say(String.format("%s: %s/%s dumped (%s, %.0f MB, %d processes) %d/%d", build, bootName, name,
            format.qmpName, Files.size(image) / 1e6, truth.truth().processes().size(), dump, dumps));
      }
    }
    return entries;
  }

  // ---------------------------------------------------------------------------------------------- shared

  /** A ground-truth capture: the verbatim frame, its items, the parsed form and host times around it. */
  private record Captured(String tag, byte[] frame, Map<String, String> items, GroundTruth truth,
      long captureStartMillis, long captureEndMillis) {
    void writeTo(Path dir, long dumpStartMillis, long dumpEndMillis) throws IOException {
      Files.createDirectories(dir);
      byte[] begin = ("@@HB-CAPTURE-BEGIN " + tag + "\n").getBytes(StandardCharsets.UTF_8);
      byte[] end = ("@@HB-CAPTURE-END " + tag + "\n").getBytes(StandardCharsets.UTF_8);
      try (var out = Files.newOutputStream(dir.resolve("raw.txt"))) {
        out.write(begin);
        out.write(frame);
        out.write(end);
      }
      Files.write(dir.resolve("items.json"), JSON.writeValueAsBytes(items));
      Map<String, Object> json = new LinkedHashMap<>();
      Map<String, Long> host = new LinkedHashMap<>();
      host.put("captureStartMillis", captureStartMillis);
      host.put("captureEndMillis", captureEndMillis);
      host.put("dumpStartMillis", dumpStartMillis);
      host.put("dumpEndMillis", dumpEndMillis);
      json.put("hostTimes", host);
      json.put("truth", truth);
      Files.write(dir.resolve("truth.json"), JSON.writeValueAsBytes(json));
      Files.write(dir.resolve("transient.json"), JSON.writeValueAsBytes(TransientEntries.of(truth)));
    }
  }

  private Captured capture(GuestVm vm, String tag) throws DatasetException {
    long from = vm.bulk().size();
    long start = System.currentTimeMillis();
    GuestConsole.Pending capturing = vm.console().send("hb-capture " + tag);
    byte[] frame = vm.bulk().awaitFrame("@@HB-CAPTURE-BEGIN " + tag, "@@HB-CAPTURE-END " + tag, from,
        COMMAND_TIMEOUT, vm.console());
    long end = System.currentTimeMillis();
    vm.console().await(capturing, COMMAND_TIMEOUT);
    Map<String, String> items = GroundTruthItems.parse(frame);
    return new Captured(tag, frame, items, GroundTruth.parse(tag, items), start, end);
  }

  private void requireDiskSpace(Path image) throws DatasetException {
    long needed = (options.memoryMiB() + 64L) << 20;
    try {
      long usable = Files.getFileStore(image.getParent()).getUsableSpace();
      if (usable < needed) {
        throw new DatasetException(String.format("no disk space for a %d MiB dump: %d MiB free under %s. Free "
            + "space there or pass --out on another disk", options.memoryMiB(), usable >> 20, image.getParent()));
      }
    } catch (IOException e) {
      throw new DatasetException("cannot check the free space under " + image.getParent() + ": "
          + e.getMessage(), e);
    }
  }

  private static ManifestEntry entry(KernelBuildName build, String name, SnapshotRole role, Path image,
      String relativePath, String bootId, long dumpTimeMillis, String truthPath, String kallsymsPath, String vmId,
      Map<String, String> labels) throws DatasetException, IOException {
    return ManifestEntry.newBuilder()
        .setId(build.name() + "/" + name)
        .setRole(role)
        .setPath(relativePath)
        .setFormat(SnapshotFiles.detectFormat(image))
        .setSizeBytes(Files.size(image))
        .setSha256(SnapshotFiles.sha256(image))
        .setKernelBuild(build.name())
        .setBootId(bootId)
        .setDumpTimeMillis(dumpTimeMillis)
        .setGroundTruthPath(truthPath)
        .setKallsymsPath(kallsymsPath)
        .setVmId(vmId)
        .setLabels(labels)
        .build();
  }

  /** Moves every file under {@code staging} to the same place under {@code target}. */
  private static void promote(Path staging, Path target) throws IOException {
    List<Path> files;
    try (Stream<Path> walk = Files.walk(staging)) {
      files = walk.filter(Files::isRegularFile).toList();
    }
    for (Path file : files) {
      Path destination = target.resolve(staging.relativize(file).toString());
      Files.createDirectories(destination.getParent());
      Files.move(file, destination, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
  }
}
