package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.cpu.AccessRouter;
import io.hybridbridge.emulator.cpu.AddressSpace;
import io.hybridbridge.emulator.cpu.Shadow;
import io.hybridbridge.emulator.kernel.GuestKernel;
import io.hybridbridge.emulator.kernel.KernelAnalysisException;
import io.hybridbridge.emulator.kernel.KernelIdentity;
import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.machine.KernelMachine;
import io.hybridbridge.emulator.machine.MachineException;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.tools.DirentParser;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.KernelCalls;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.ToolException;
import io.hybridbridge.taint.layout.LayoutBridge;
import io.hybridbridge.taint.layout.PerCpuUnits;
import io.hybridbridge.taint.layout.UThroughT;
import java.time.Duration;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;

/**
 * The reference's kernel machine made ready to inspect untrusted snapshots (DESIGN §5.2): everything the slow path
 * and the fast path share, so that both run an inspection the same way and differ only in the router that decides
 * each access (taint on the slow path, the memoized table on the fast path) and in the value domain riding along.
 *
 * <p>One inspection ({@link #inspect}): the machine is reset to the reference as dumped, prepared on T alone
 * ({@link TrustedPreparation}); U's kernel memory, copy-on-write, is plugged in as the redirected space through T's
 * layout ({@link UThroughT}); the TSC starts a tenth of a second after U's last timekeeping update
 * ({@link #clockStart}); the router and the shadow are plugged in and the tool's script runs through the machine's
 * system calls, refusing /proc listings it cannot trust.
 *
 * <p>T's preparation runs once: the machine's state after it is a {@link KernelMachine.Checkpoint} that every later
 * inspection starts from (the preparation is deterministic: same pristine state, same calls, same clock, so the
 * state is the one running it again would give). U's view is kept by the {@link UntrustedSnapshot} across the
 * tools inspected on it, its writes dropped before each.
 *
 * <p>Not thread-safe: one per thread. It can inspect any number of snapshots of its build one after the other.
 */
public final class BridgedMachine implements AutoCloseable {
  private final KernelMachine machine;
  private final Profile profile;
  private final KernelIdentity identity;
  private final PerCpuUnits trustedUnits;
  private final RedirectedSpace redirected = new RedirectedSpace();
  private final RedirectedSpace perCpuRedirected = new RedirectedSpace();
  private final int redirectedIndex;
  private final int perCpuIndex;
  private final AccessGuard guard;
  /** T right after its preparation (taken at the first inspection), and the agent's pid it found. */
  private KernelMachine.Checkpoint prepared;
  private long agentPid;

  private BridgedMachine(KernelMachine machine) throws SlowPathException {
    this.machine = machine;
    this.profile = machine.profile();
    try {
      GuestKernel trusted = GuestKernel.of(machine.snapshot(), machine.layout());
      identity = trusted.identity();
      trustedUnits = PerCpuUnits.of(trusted, profile);
    } catch (KernelAnalysisException e) {
      throw new SlowPathException(SlowPathException.Reason.REFERENCE, "reference " + machine.reference().id() + ": "
          + e.getMessage(), e);
    }
    long slide = machine.layout().slide();
    redirectedIndex = machine.addAddressSpace(redirected);
    perCpuIndex = machine.addAddressSpace(perCpuRedirected);
    RefusingSpace refusal = new RefusingSpace();
    guard = new AccessGuard(new long[] {profile.text().start() + slide, profile.text().end() + slide},
        new long[] {runtime("entry_SYSCALL_64"), runtime("entry_SYSCALL_64_after_hwframe")}, refusal,
        machine.addAddressSpace(refusal));
  }

  /** Opens the kernel machine on {@code reference}. */
  public static BridgedMachine open(ReferenceStore.Reference reference) throws SlowPathException {
    KernelMachine machine;
    try {
      machine = KernelMachine.open(reference);
    } catch (MachineException e) {
      throw new SlowPathException(SlowPathException.Reason.REFERENCE, e.getMessage(), e);
    }
    try {
      return new BridgedMachine(machine);
    } catch (SlowPathException | RuntimeException e) {
      machine.close();
      throw e;
    }
  }

  public KernelMachine machine() {
    return machine;
  }

  public Profile profile() {
    return profile;
  }

  /** The reference's kernel build. */
  public KernelIdentity identity() {
    return identity;
  }

  /** T's per-CPU units. */
  public PerCpuUnits trustedUnits() {
    return trustedUnits;
  }

  /** T's KASLR slide: runtime address = KASLR-free offset + slide. */
  public long slide() {
    return machine.layout().slide();
  }

  /** The runtime address of {@code symbol} in T, or a REFERENCE error naming it. */
  public long runtime(String symbol) throws SlowPathException {
    return profile.address(symbol).orElseThrow(() -> new SlowPathException(SlowPathException.Reason.REFERENCE,
        "the profile of " + machine.reference().id() + " has no " + symbol)) + slide();
  }

  /** The CPU's index of the redirected space (U through T's layout): what a router returns to redirect. */
  public int untrustedSpace() {
    return redirectedIndex;
  }

  /**
   * The CPU's index of the redirected space for addresses that are T's per-CPU base plus a U per-CPU offset (the
   * metadata's {@code PER_CPU}): what a router returns to redirect such an access.
   */
  public int perCpuSpace() {
    return perCpuIndex;
  }

  /**
   * The redirected space: the snapshot under inspection seen through T's layout (its values rebased as T's code sees
   * them); every access fails between inspections.
   */
  public AddressSpace untrusted() {
    return redirected;
  }

  /** The value of the last 8-byte read of the redirected space (for the taint domain's pointer test). */
  long lastRead() {
    return redirected.lastRead();
  }

  /** The check every router makes first ({@link AccessGuard}). */
  public AccessGuard guard() {
    return guard;
  }

  /**
   * What one inspection gave: the tool's rows, and the counts of the tool's system calls (not the preparation).
   *
   * @param wallTime the whole inspection: reset, T's preparation, U plugged in, the tool
   * @param executionTime the tool's system calls alone
   */
  public record Run(List<? extends SpecificRecord> rows, long instructions, long syscalls, Duration wallTime,
      Duration executionTime, List<String> notes) {}

  /**
   * Runs {@code tool} on {@code snapshot} through the trusted kernel, each data access routed by {@code router},
   * with {@code shadow} riding along ({@link Shadow#NONE}: concrete execution only).
   *
   * @param beforeRun called once U is plugged in, just before the tool's first system call (a router or shadow
   *     resets its per-inspection state there)
   * @throws SlowPathException DIFFERENT_BUILD when the snapshot's kernel is not the reference's build; SNAPSHOT when
   *     its layout cannot be bridged; REFERENCE when T cannot be prepared; TOOL when a system call fails (the message
   *     names the call, the kernel function and why)
   */
  public Run inspect(UntrustedSnapshot snapshot, InspectionTool tool, AccessRouter router, Shadow shadow,
      Runnable beforeRun) throws SlowPathException {
    requireSameBuild(snapshot);
    long start = System.nanoTime();
    UThroughT untrusted = snapshot.view(this);
    untrusted.discardWrites();
    prepareTrusted();
    long firstInstruction = machine.instructions();
    long firstSyscall = machine.syscalls();
    // Time: TSC reads count from U's clock start (SlowPath.calibrateClock), one per instruction.
    long clockStart = snapshot.clockStart().orElseThrow(() -> new IllegalStateException(
        "the clock of " + snapshot.id() + " is not calibrated: SlowPath.calibrateClock first"));
    long base = machine.cpu().instructionsRetired();
    machine.cpu().setClock(cpu -> clockStart + cpu.instructionsRetired() - base);
    plugIn(untrusted, router, shadow);
    beforeRun.run();
    try {
      RowContext context = new RowContext(snapshot.id(), snapshot.vmId(), identity.buildName());
      long execution = System.nanoTime();
      List<? extends SpecificRecord> rows = tool.run(new InspectionCalls(machine.calls(), agentPid), context);
      long end = System.nanoTime();
      return new Run(rows, machine.instructions() - firstInstruction, machine.syscalls() - firstSyscall,
          Duration.ofNanos(end - start), Duration.ofNanos(end - execution), machine.notes());
    } catch (ToolException e) {
      throw new SlowPathException(SlowPathException.Reason.TOOL, tool.name() + " on " + snapshot.id() + ": "
          + e.getMessage(), e);
    } finally {
      unplug();
    }
  }

  /**
   * How long after U's last timekeeping update an inspection's clock starts: a tenth of a second. A CPU that went idle
   * after that update timed its idle entry later (the tick then stops), and the kernel's idle time (now − idle entry
   * + idle so far) must not go negative (2^64 ns in /proc/uptime). A running kernel updates every tick, but a guest
   * under emulation on a busy host handles its tick late: one tick after the update was too early for a fresh 6.1
   * cloud boot (MemorySizeGuestTest) whose CPU went idle up to ≈ 14 ms after it (HZ 250: 4 ms ticks). The clock a dump
   * stops is unknown anyway; a tenth of a second is within what any guest's capture-to-dump time is here (1.1 s at
   * least, over the datasets' 224 snapshots).
   */
  static final long CLOCK_AFTER_LAST_UPDATE_NANOS = 100_000_000L;

  /**
   * The TSC an inspection of {@code snapshot} starts at: {@link #CLOCK_AFTER_LAST_UPDATE_NANOS} after U's last
   * timekeeping update, found as T's is ({@link KernelMachine#lastClockUpdate}) with U plugged in and {@code router}
   * redirecting the timekeeper's reads. 0 when U's clock does not follow the TSC (a guest on the HPET): its time is
   * then the last update's (the kernel clamps the negative delta), and the tools that read the clock say why they
   * cannot.
   */
  long clockStart(UntrustedSnapshot snapshot, AccessRouter router, Shadow shadow, Runnable beforeEachCall)
      throws SlowPathException {
    requireSameBuild(snapshot);
    UThroughT untrusted = snapshot.view(this);
    untrusted.discardWrites();
    plugIn(untrusted, router, shadow);
    try {
      long tscKhz = redirected.read(runtime("tsc_khz"), 4); // U's rate (the one-second check refuses a wrong one)
      return machine.lastClockUpdate(tscKhz, beforeEachCall) + CLOCK_AFTER_LAST_UPDATE_NANOS * tscKhz / 1_000_000;
    } catch (MachineException | MemoryAccessException | SlowPathException e) {
      return 0;
    } finally {
      unplug(); // U's writes are dropped when an inspection starts
    }
  }

  /** U plugged in as the redirected spaces, {@code router} and {@code shadow} into the machine. */
  private void plugIn(UThroughT untrusted, AccessRouter router, Shadow shadow) {
    redirected.inspect(untrusted);
    perCpuRedirected.inspect(untrusted.perCpuView());
    machine.setShadow(shadow);
    machine.setRouter(router);
  }

  /** Undoes {@link #plugIn}: every access to the redirected spaces fails until the next. */
  private void unplug() {
    machine.setRouter(null);
    machine.setShadow(Shadow.NONE);
    redirected.inspect(null);
    perCpuRedirected.inspect(null);
  }

  private void requireSameBuild(UntrustedSnapshot snapshot) throws SlowPathException {
    KernelIdentity theirs = snapshot.kernel().identity();
    if (!theirs.equals(identity)) {
      throw new SlowPathException(SlowPathException.Reason.DIFFERENT_BUILD, String.format(
          "snapshot %s runs kernel %s (build-id %s), but reference %s is %s (build-id %s): inspecting it needs a "
              + "reference of the snapshot's own build", snapshot.id(), theirs.buildName(), theirs.buildId(),
          machine.reference().id(), identity.buildName(), identity.buildId()));
    }
  }

  /** U through T's layout: a new view of {@code snapshot} (its memory copy-on-write). */
  UThroughT view(UntrustedSnapshot snapshot) throws SlowPathException {
    try {
      PerCpuUnits units = PerCpuUnits.of(snapshot.kernel(), profile);
      if (units.count() != trustedUnits.count()) {
        // T's loops over CPUs follow its own possible-CPU mask, boot-time data it keeps: with other CPUs than U's,
        // per-CPU sums (/proc/uptime's idle time) would be partial or read units U does not have.
        throw new SlowPathException(SlowPathException.Reason.SNAPSHOT, String.format(
            "snapshot %s has %d possible CPUs (nr_cpu_ids), reference %s has %d: the kernel's per-CPU loops follow "
                + "the reference's CPUs, so inspecting it needs a reference of its build booted with %d CPUs",
            snapshot.id(), units.count(), machine.reference().id(), trustedUnits.count(), units.count()));
      }
      return new UThroughT(KernelMachine.copyOnWrite(snapshot.kernel().snapshot(), snapshot.kernel().layout()),
          new LayoutBridge(machine.layout(), trustedUnits, snapshot.kernel().layout(), units));
    } catch (KernelAnalysisException | IllegalArgumentException e) {
      throw new SlowPathException(SlowPathException.Reason.SNAPSHOT, snapshot.id() + ": " + e.getMessage(), e);
    }
  }

  /** The machine as T's preparation leaves it: prepared once, restored from the checkpoint after. */
  private void prepareTrusted() throws SlowPathException {
    if (prepared != null) {
      machine.restore(prepared);
      return;
    }
    machine.reset();
    try {
      agentPid = TrustedPreparation.prepare(machine);
    } catch (MachineException e) {
      throw new SlowPathException(SlowPathException.Reason.REFERENCE, "preparing the reference kernel: "
          + e.getMessage(), e);
    }
    prepared = machine.checkpoint();
  }

  @Override
  public void close() {
    machine.close();
  }

  /**
   * The tool's calls, refusing two /proc listings it cannot trust: one with the agent's pid (that U process would
   * be shown with the agent's entries, see {@link TrustedPreparation}), and one with no process at all. A running
   * Linux always has pid 1; measured: a snapshot whose {@code init_pid_ns} is overwritten lists no pid (the kernel
   * reads the garbage root of its pid tree as an empty tree), and ps would silently report an empty table.
   */
  private record InspectionCalls(KernelCalls calls, long agentPid) implements KernelCalls {
    @Override
    public byte[] readFile(String path) throws ToolException {
      return calls.readFile(path);
    }

    @Override
    public List<DirentParser.Dirent> listDirectory(String path) throws ToolException {
      List<DirentParser.Dirent> entries = calls.listDirectory(path);
      if (path.equals("/proc")) {
        boolean anyProcess = false;
        for (DirentParser.Dirent d : entries) {
          if (d.name().equals(Long.toString(agentPid))) {
            throw new ToolException("the snapshot has a process with pid " + agentPid + ", the reference agent's "
                + "own pid: its /proc entry would show the agent; inspect it with another reference");
          }
          anyProcess |= !d.name().isEmpty() && d.name().chars().allMatch(Character::isDigit);
        }
        if (!anyProcess) {
          throw new ToolException("/proc lists no process at all: the snapshot's pid namespace is unreadable or "
              + "corrupt (a running Linux always has pid 1)");
        }
      }
      return entries;
    }

    @Override
    public byte[] uname() throws ToolException {
      return calls.uname();
    }
  }
}
