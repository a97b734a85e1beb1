package io.hybridbridge.taint.slowpath;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.emulator.cpu.PcHook;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.kernel.GuestKernel;
import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.memory.AddressTranslator;
import io.hybridbridge.emulator.snapshot.Snapshots;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.ModuleRow;
import io.hybridbridge.schemas.MountRow;
import io.hybridbridge.schemas.ProcessRow;
import io.hybridbridge.schemas.SocketRow;
import io.hybridbridge.schemas.SystemRow;
import io.hybridbridge.taint.policy.RedirectPolicy;
import io.hybridbridge.taint.testing.GroundTruth;
import io.hybridbridge.taint.testing.PatchedSnapshot;
import io.hybridbridge.taint.testing.TestDataset;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Redirection is real and refuses what it cannot do (issue 5): for every build and tool, on a snapshot whose state
 * differs from the reference's (the fleet workload loads modules, starts processes, opens sockets, mounts a tmpfs
 * the reference never had), the rows are exactly U's: what only U has is there, what only T has is not. Snapshots
 * of another build are refused; a corrupt list pointer is a clear error per tool, never a hang.
 */
@Tag("dataset")
class RedirectionIsRealTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static JsonNode truth(Path dir) throws Exception {
    return JSON.readTree(dir.resolve("truth.json").toFile()).path("truth");
  }

  private static Set<String> texts(JsonNode array, Function<JsonNode, String> f) {
    Set<String> out = new TreeSet<>();
    array.forEach(n -> out.add(f.apply(n)));
    return out;
  }

  private static Set<Integer> transients(Path truthDir) throws Exception {
    Set<Integer> pids = new HashSet<>();
    JSON.readTree(truthDir.resolve("transient.json").toFile()).path("processes")
        .forEach(p -> pids.add(p.path("pid").asInt()));
    return pids;
  }

  /** Per build, the snapshot whose uptime is furthest from the reference's (so uptime tells them apart too). */
  private static ManifestEntry mostDifferent(String build, JsonNode reference) throws Exception {
    ManifestEntry best = null;
    double distance = -1;
    for (ManifestEntry e : TestDataset.snapshots()) {
      if (e.getKernelBuild().equals(build)) {
        double d = Math.abs(truth(TestDataset.truth(e)).path("uptime").path("seconds").asDouble()
            - reference.path("uptime").path("seconds").asDouble());
        if (d > distance) {
          distance = d;
          best = e;
        }
      }
    }
    return best;
  }

  @Test
  void everyToolShowsExactlyTheSnapshotsStateNotTheReferences() throws Exception {
    Set<String> builds = new TreeSet<>();
    TestDataset.snapshots().forEach(e -> builds.add(e.getKernelBuild()));
    for (String build : builds) {
      ReferenceStore.Reference reference = TestDataset.reference(build);
      JsonNode t = truth(reference.groundTruth().orElseThrow());
      ManifestEntry e = mostDifferent(build, t);
      Path truthDir = TestDataset.truth(e);
      JsonNode u = truth(truthDir);
      try (SlowPath slow = SlowPath.open(reference);
          UntrustedSnapshot snapshot = UntrustedSnapshot.open(TestDataset.path(e), e.getId(), e.getVmId())) {
        String what = build + " " + e.getId();

        // ps: processes only U has are listed, processes only T has are not, and shared pids show U's data
        Set<Integer> uPids = new TreeSet<>();
        u.path("processes").forEach(p -> uPids.add(p.path("pid").asInt()));
        uPids.removeAll(transients(truthDir));
        Set<Integer> tPids = new TreeSet<>();
        t.path("processes").forEach(p -> tPids.add(p.path("pid").asInt()));
        tPids.removeAll(transients(reference.groundTruth().orElseThrow()));
        Set<Integer> onlyU = new TreeSet<>(uPids);
        onlyU.removeAll(tPids);
        Set<Integer> onlyT = new TreeSet<>(tPids);
        onlyT.removeAll(uPids);
        assertThat(onlyU).as("%s: processes only in U", what).isNotEmpty();
        assertThat(onlyT).as("%s: processes only in T", what).isNotEmpty();
        @SuppressWarnings("unchecked")
        List<ProcessRow> ps = (List<ProcessRow>) slow.inspect(snapshot, Tools.PS).rows();
        Set<Integer> pids = new TreeSet<>();
        ps.forEach(p -> pids.add(p.getPid()));
        assertThat(pids).as("%s ps", what).containsAll(onlyU).doesNotContainAnyElementsOf(onlyT).isEqualTo(uPids);
        // a pid both have, whose data differ (T's cached /proc/<pid> entries would show T's): U's data
        int shared = uPids.stream().filter(tPids::contains).filter(pid -> !view(find(u.path("processes"), pid))
            .equals(view(find(t.path("processes"), pid)))).findFirst()
            .orElseThrow(() -> new AssertionError(what + ": no shared pid whose data differ"));
        ProcessRow row = ps.stream().filter(p -> p.getPid() == shared).findFirst().orElseThrow();
        assertThat(List.of(row.getStartTimeTicks(), row.getRssPages(), row.getVsizeBytes()))
            .as("%s: pid %d is U's, not T's", what, shared).isEqualTo(view(find(u.path("processes"), shared)));

        // lsmod: U's modules (the reference boots with none)
        Set<String> uModules = texts(u.path("modules"), m -> m.path("name").asText());
        Set<String> tModules = texts(t.path("modules"), m -> m.path("name").asText());
        assertThat(uModules).as("%s: modules only in U", what).isNotEmpty().isNotEqualTo(tModules);
        Set<String> modules = new TreeSet<>();
        slow.inspect(snapshot, Tools.LSMOD).rows().forEach(m -> modules.add(((ModuleRow) m).getName()));
        assertThat(modules).as("%s lsmod", what).isEqualTo(uModules);

        // netstat: U's sockets by inode (the reference has none)
        Set<String> uSockets = texts(u.path("inetSockets"), s -> s.path("inode").asText());
        uSockets.addAll(texts(u.path("unixSockets"), s -> s.path("inode").asText()));
        Set<String> tSockets = texts(t.path("inetSockets"), s -> s.path("inode").asText());
        assertThat(uSockets).as("%s: sockets only in U", what).isNotEmpty().isNotEqualTo(tSockets);
        Set<String> sockets = new TreeSet<>();
        slow.inspect(snapshot, Tools.NETSTAT).rows().forEach(s -> sockets.add(Long.toString(((SocketRow) s).getInode())));
        assertThat(sockets).as("%s netstat", what).isEqualTo(uSockets);

        // mount: U's mount table (the fleet mounts a tmpfs the reference does not have)
        List<String> uMounts = u.findValues("mountPoint").stream().map(JsonNode::asText).toList();
        List<String> tMounts = t.findValues("mountPoint").stream().map(JsonNode::asText).toList();
        assertThat(uMounts).as("%s: mounts only in U", what).isNotEqualTo(tMounts);
        List<String> mounts = slow.inspect(snapshot, Tools.MOUNT).rows().stream()
            .map(m -> ((MountRow) m).getMountpoint()).toList();
        assertThat(mounts).as("%s mount", what).isEqualTo(uMounts);

        // system: U's clock, not T's
        double uptime = ((SystemRow) slow.inspect(snapshot, Tools.SYSTEM).rows().get(0)).getUptimeSeconds();
        double uTruth = u.path("uptime").path("seconds").asDouble();
        double tTruth = t.path("uptime").path("seconds").asDouble();
        assertThat(Math.abs(uTruth - tTruth)).as("%s: the uptimes tell T and U apart", what).isGreaterThan(1.0);
        assertThat(uptime).as("%s uptime", what).isBetween(uTruth - 0.01, uTruth + 1.0);
      }
    }
  }

  private static List<Long> view(JsonNode process) {
    return List.of(process.path("startTimeTicks").asLong(), process.path("rssPages").asLong(),
        process.path("vsizeBytes").asLong());
  }

  private static JsonNode find(JsonNode processes, int pid) {
    for (JsonNode p : processes) {
      if (p.path("pid").asInt() == pid) {
        return p;
      }
    }
    throw new AssertionError("no pid " + pid);
  }

  @Test
  void aSnapshotOfAnotherBuildIsRefused() throws Exception {
    List<ManifestEntry> snapshots = TestDataset.snapshots();
    ManifestEntry first = snapshots.get(0);
    ManifestEntry other = snapshots.stream().filter(e -> !e.getKernelBuild().equals(first.getKernelBuild()))
        .findFirst().orElseThrow(() -> new AssertionError("the dataset has one build only"));
    try (SlowPath slow = SlowPath.open(TestDataset.reference(first.getKernelBuild()));
        UntrustedSnapshot u = UntrustedSnapshot.open(TestDataset.path(other), other.getId(), other.getVmId())) {
      assertThatThrownBy(() -> slow.inspect(u, Tools.LSMOD)).isInstanceOf(SlowPathException.class)
          .hasMessageContaining(other.getKernelBuild()).hasMessageContaining(first.getKernelBuild())
          .satisfies(x -> assertThat(((SlowPathException) x).reason())
              .isEqualTo(SlowPathException.Reason.DIFFERENT_BUILD));
    }
  }

  /**
   * The head of the list each list-walking tool starts from, poisoned with a non-canonical pointer: a kernel fault
   * (lsmod, netstat, mount), the instruction budget spent in a kernel function, or an empty pid tree (ps), each a clear
   * error of that tool. Which of the first two depends on the boot's memory, not on our code: with netstat, one
   * dataset's 6.1 dump faulted, a later boot's (fresh machine, session 11) ran the 50 M instruction budget out in
   * listening_get_first, a loop the poisoned bytes sent over memory that stayed mapped.
   */
  @Test
  void aCorruptListPointerIsAClearErrorPerToolNeverAHang() throws Exception {
    ManifestEntry e = TestDataset.snapshots().get(0);
    ReferenceStore.Reference reference = TestDataset.reference(e.getKernelBuild());
    Profile profile = reference.profile();
    Object[][] cases = {
      {Tools.PS, "init_pid_ns"}, {Tools.LSMOD, "modules"}, {Tools.NETSTAT, "tcp_hashinfo"},
      {Tools.MOUNT, "init_nsproxy"},
    };
    try (SlowPath slow = SlowPath.open(reference)) {
      for (Object[] c : cases) {
        InspectionTool tool = (InspectionTool) c[0];
        String symbol = (String) c[1];
        PatchedSnapshot patched = new PatchedSnapshot(Snapshots.open(TestDataset.path(e)));
        try (UntrustedSnapshot u = UntrustedSnapshot.of(patched, e.getId(), e.getVmId())) {
          GuestKernel kernel = u.kernel();
          long address = Profile.runtime(profile.address(symbol).getAsLong(), kernel.layout());
          long physical = kernel.pageTables().toPhysical(address, AddressTranslator.Access.READ);
          for (int i = 0; i < 64; i += 8) {
            patched.putLong(physical + i, 0xdead4eaddead4eadL); // not canonical
          }
          long start = System.nanoTime();
          assertThatThrownBy(() -> slow.inspect(u, tool)).as("%s with %s poisoned", tool, symbol)
              .isInstanceOf(SlowPathException.class).hasMessageStartingWith(tool.name() + " on " + e.getId())
              .hasMessageMatching("(?s).*(kernel fault at pc .*\\(.*\\+0x|lists no process"
                  + "|instruction budget of [0-9,]+ exhausted at pc .*\\(.*\\+0x).*");
          assertThat((System.nanoTime() - start) / 1e9).as("%s: seconds to fail", tool).isLessThan(60);
        }
      }
    }
  }

  /**
   * A snapshot frozen while a rename or a mount was under way: its {@code rename_lock}/{@code mount_lock} sequence is
   * odd. T's path walk samples these seqlocks around T's own dcache and mounts; with them in the policy's context
   * they are T's and the inspection works; redirected, the walk would wait forever for U's writer (here: the
   * emulator sees a spin-wait that cannot end and stops it). The evidence for those two entries.
   */
  @Test
  void aSnapshotFrozenMidRenameOrMountIsInspectedWithTsPathWalkLocks() throws Exception {
    ManifestEntry e = TestDataset.snapshots().get(0);
    ReferenceStore.Reference reference = TestDataset.reference(e.getKernelBuild());
    Profile profile = reference.profile();
    for (String lock : List.of("rename_lock", "mount_lock")) {
      List<io.hybridbridge.taint.policy.RedirectPolicy.ContextVariable> without =
          new java.util.ArrayList<>(io.hybridbridge.taint.policy.RedirectPolicy.CONTEXT);
      without.removeIf(v -> v.symbol().equals(lock));
      for (boolean inContext : new boolean[] {true, false}) {
        try (SlowPath slow = inContext ? SlowPath.open(reference) : SlowPath.open(reference, without)) {
          slow.machine().setRunBudget(10_000_000);
          PatchedSnapshot patched = new PatchedSnapshot(Snapshots.open(TestDataset.path(e)));
          try (UntrustedSnapshot u = UntrustedSnapshot.of(patched, e.getId(), e.getVmId())) {
            long address = Profile.runtime(profile.address(lock).getAsLong(), u.kernel().layout());
            long first = u.kernel().memory().readLong(address);
            patched.putLong(u.kernel().pageTables().toPhysical(address, AddressTranslator.Access.READ), first | 1);
            if (inContext) {
              assertThat(slow.inspect(u, Tools.LSMOD).rows()).as(lock).isNotEmpty();
            } else {
              assertThatThrownBy(() -> slow.inspect(u, Tools.LSMOD)).as(lock + " redirected")
                  .isInstanceOf(SlowPathException.class).hasMessageContaining("spins at");
            }
          }
        }
      }
    }
  }

  /**
   * A snapshot whose kernel sits, in physical memory, where T keeps a buffer it copies to user space: hardened
   * usercopy checks the buffer against the direct-map alias of T's text, {@code __pa_symbol(_stext)}, which reads
   * {@code phys_base}. With {@code phys_base} in the policy's context that is T's own and the inspection works;
   * redirected, it is U's, and T refuses its own buffer ("BUG at mm/usercopy.c"), as ps did on one 6.12 boot with two
   * vCPUs. Here U's {@code phys_base} is patched to put U's text on the first buffer page T checks during ps, which
   * makes the chance collision certain. The evidence for that entry.
   */
  @Test
  void aSnapshotWhoseKernelSitsUnderTsBuffersIsInspectedWithTsPhysBase() throws Exception {
    ManifestEntry e = TestDataset.snapshots().get(0);
    ReferenceStore.Reference reference = TestDataset.reference(e.getKernelBuild());
    Profile profile = reference.profile();
    long buffer;
    long physBase;
    try (SlowPath slow = SlowPath.open(reference);
        UntrustedSnapshot u = UntrustedSnapshot.open(TestDataset.path(e), e.getId(), e.getVmId())) {
      var machine = slow.machine();
      long directMap = machine.memory().read(Profile.runtime(profile.address("page_offset_base").getAsLong(),
          machine.layout()), 8);
      long check = Profile.runtime(profile.address("__check_object_size").getAsLong(), machine.layout());
      List<Long> checked = new ArrayList<>();
      machine.cpu().addHook(check, cpu -> { // its first argument: the kernel buffer of a user copy
        long pointer = cpu.state().get(Reg.RDI);
        if (pointer - directMap >= 0 && pointer - directMap < 1L << 40) {
          checked.add(pointer);
        }
        return PcHook.Result.CONTINUE;
      });
      slow.inspect(u, Tools.PS);
      machine.cpu().removeHook(check);
      assertThat(checked).as("T's direct-map buffers copied to user space during ps").isNotEmpty();
      buffer = checked.get(0) & ~0xfffL;
      // __pa_symbol(x) = x - __START_KERNEL_map + phys_base, and the alias is page_offset_base + that
      long stext = Profile.runtime(profile.address("_stext").getAsLong(), machine.layout());
      physBase = buffer - directMap - (stext - 0xffffffff80000000L);
    }
    List<RedirectPolicy.ContextVariable> without = new ArrayList<>(RedirectPolicy.CONTEXT);
    assertThat(without.removeIf(v -> v.symbol().equals("phys_base"))).isTrue();
    for (boolean inContext : new boolean[] {true, false}) {
      try (SlowPath slow = inContext ? SlowPath.open(reference) : SlowPath.open(reference, without)) {
        PatchedSnapshot patched = new PatchedSnapshot(Snapshots.open(TestDataset.path(e)));
        try (UntrustedSnapshot u = UntrustedSnapshot.of(patched, e.getId(), e.getVmId())) {
          long address = Profile.runtime(profile.address("phys_base").getAsLong(), u.kernel().layout());
          patched.putLong(u.kernel().pageTables().toPhysical(address, AddressTranslator.Access.READ), physBase);
          if (inContext) {
            RowContext context = new RowContext(e.getId(), e.getVmId(), e.getKernelBuild());
            assertThat(GroundTruth.differences(Tools.PS, slow.inspect(u, Tools.PS).rows(), TestDataset.truth(e),
                context)).as("ps against the ground truth").isEmpty();
          } else {
            assertThatThrownBy(() -> slow.inspect(u, Tools.PS)).as("phys_base redirected")
                .isInstanceOf(SlowPathException.class).hasMessageContaining("BUG at mm/usercopy.c");
          }
        }
      }
    }
  }

  /**
   * A list whose next pointer points back at itself never ends, each read of /proc/modules returning a page of it
   * within the call's budget: the run's instruction budget stops it.
   */
  @Test
  void aModuleListThatNeverEndsStopsAtTheBudget() throws Exception {
    ManifestEntry e = TestDataset.snapshots().get(0);
    ReferenceStore.Reference reference = TestDataset.reference(e.getKernelBuild());
    Profile profile = reference.profile();
    try (SlowPath slow = SlowPath.open(reference)) {
      slow.machine().setRunBudget(10_000_000);
      PatchedSnapshot patched = new PatchedSnapshot(Snapshots.open(TestDataset.path(e)));
      try (UntrustedSnapshot u = UntrustedSnapshot.of(patched, e.getId(), e.getVmId())) {
        GuestKernel kernel = u.kernel();
        long head = Profile.runtime(profile.address("modules").getAsLong(), kernel.layout());
        long first = kernel.memory().readLong(head); // the first module's list node
        long node = kernel.pageTables().toPhysical(first, AddressTranslator.Access.READ);
        patched.putLong(node, first); // its next: itself
        assertThatThrownBy(() -> slow.inspect(u, Tools.LSMOD)).isInstanceOf(SlowPathException.class)
            .hasMessageContaining("the run exceeded its budget of 10,000,000 instructions");
      }
    }
  }
}
