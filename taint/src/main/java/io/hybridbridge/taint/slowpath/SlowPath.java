package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.cpu.Shadow;
import io.hybridbridge.emulator.kernel.GuestKernel;
import io.hybridbridge.emulator.kernel.KernelAnalysisException;
import io.hybridbridge.emulator.kernel.KernelIdentity;
import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.kernel.ProfileException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.machine.KernelMachine;
import io.hybridbridge.emulator.machine.MachineException;
import io.hybridbridge.emulator.tools.DirentParser;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.KernelCalls;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.ToolException;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.layout.LayoutBridge;
import io.hybridbridge.taint.layout.PerCpuUnits;
import io.hybridbridge.taint.layout.UThroughT;
import io.hybridbridge.taint.metadata.Metadata;
import io.hybridbridge.taint.policy.RedirectPolicy;
import io.hybridbridge.taint.shadow.TaintShadow;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.avro.specific.SpecificRecord;

/**
 * The slow path (SLOW-BRIDGE, DESIGN §5.3): the trusted kernel of a reference T runs an inspection tool's system
 * calls, and the taint domain decides, access by access, which memory is read from the untrusted snapshot U instead.
 * Every decision is recorded, so one inspection is also one training run.
 *
 * <pre>{@code
 * try (SlowPath slow = SlowPath.open(reference);
 *      UntrustedSnapshot u = UntrustedSnapshot.open(path, "vm1/dump3", "vm1")) {
 *   SlowPath.Inspection ps = slow.inspect(u, Tools.PS);   // rows, decisions, counts
 *   TrainingMetadata m = ps.metadata();
 * }
 * }</pre>
 *
 * <p>One inspection: the machine is reset to the reference as dumped, prepared on T alone ({@link
 * TrustedPreparation}), then U is plugged in through T's layout ({@link UThroughT}) with the router and the taint
 * domain, and the tool runs. Not thread-safe: one slow path per thread; it can inspect any number of snapshots of
 * its build one after the other.
 */
public final class SlowPath implements AutoCloseable {
  private final KernelMachine machine;
  private final Profile profile;
  private final KernelIdentity identity;
  private final PerCpuUnits trustedUnits;
  private final RedirectPolicy policy;
  private final RedirectedSpace redirected = new RedirectedSpace();
  private final TaintShadow shadow;
  private final TaintRouter.Refusal refusal = new TaintRouter.Refusal();
  private final int redirectedIndex;
  private final int refusalIndex;
  private final long[] text;
  private final long[] syscallEntry;
  private long accessBudget = DEFAULT_ACCESS_BUDGET;

  /**
   * Memory accesses one inspection may make. The largest measured (ps on 65 processes) makes ≈ 2 M; a corrupt list
   * that never ends stops here within seconds instead of reading pages of text for hours.
   */
  public static final long DEFAULT_ACCESS_BUDGET = 100_000_000;

  private SlowPath(KernelMachine machine, Path kallsyms, List<RedirectPolicy.ContextVariable> context)
      throws SlowPathException {
    this.machine = machine;
    this.profile = machine.profile();
    String what = "reference " + machine.reference().id();
    try {
      GuestKernel trusted = GuestKernel.of(machine.snapshot(), machine.layout());
      identity = trusted.identity();
      trustedUnits = PerCpuUnits.of(trusted, profile);
      policy = new RedirectPolicy(profile, kallsyms, machine.layout(), trustedUnits, context);
    } catch (KernelAnalysisException | ProfileException e) {
      throw new SlowPathException(SlowPathException.Reason.REFERENCE, what + ": " + e.getMessage(), e);
    }
    long slide = machine.layout().slide();
    shadow = new TaintShadow(redirected::lastRead, runtime("page_offset_base"), runtime("vmemmap_base"),
        runtime("vmalloc_base"));
    text = new long[] {profile.text().start() + slide, profile.text().end() + slide};
    syscallEntry = new long[] {runtime("entry_SYSCALL_64"), runtime("entry_SYSCALL_64_after_hwframe")};
    redirectedIndex = machine.addAddressSpace(redirected);
    refusalIndex = machine.addAddressSpace(refusal);
  }

  /** Opens the kernel machine on {@code reference} and the slow path over it. */
  public static SlowPath open(ReferenceStore.Reference reference) throws SlowPathException {
    return open(reference, RedirectPolicy.CONTEXT);
  }

  /** Like {@link #open(ReferenceStore.Reference)} with another context list (to measure what each entry is for). */
  public static SlowPath open(ReferenceStore.Reference reference, List<RedirectPolicy.ContextVariable> context)
      throws SlowPathException {
    Path kallsyms = reference.kallsyms().orElseThrow(() -> new SlowPathException(SlowPathException.Reason.REFERENCE,
        "reference " + reference.id() + " has no kallsyms"));
    KernelMachine machine;
    try {
      machine = KernelMachine.open(reference);
    } catch (MachineException e) {
      throw new SlowPathException(SlowPathException.Reason.REFERENCE, e.getMessage(), e);
    }
    try {
      return new SlowPath(machine, kallsyms, context);
    } catch (SlowPathException | RuntimeException e) {
      machine.close();
      throw e;
    }
  }

  private long runtime(String symbol) throws SlowPathException {
    return profile.address(symbol).orElseThrow(() -> new SlowPathException(SlowPathException.Reason.REFERENCE,
        "the profile of " + machine.reference().id() + " has no " + symbol)) + machine.layout().slide();
  }

  /** The reference's kernel build. */
  public KernelIdentity identity() {
    return identity;
  }

  public KernelMachine machine() {
    return machine;
  }

  public RedirectPolicy policy() {
    return policy;
  }

  /** Memory accesses one inspection may make (default {@link #DEFAULT_ACCESS_BUDGET}). */
  public void setAccessBudget(long accesses) {
    if (accesses <= 0) {
      throw new IllegalArgumentException("access budget must be positive: " + accesses);
    }
    this.accessBudget = accesses;
  }

  /** What one inspection produced. */
  public record Inspection(String tool, String snapshotId, String referenceId, KernelIdentity identity,
      List<? extends SpecificRecord> rows, DecisionLog log, long instructions, long syscalls, Duration wallTime,
      List<String> notes) {
    /** Distinct (instruction, operand) pairs redirected at least once. */
    public long redirectedInstructions() {
      return log.redirectedInstructions();
    }

    /** The training metadata of this run. */
    public TrainingMetadata metadata() {
      return Metadata.of(new Metadata.Run(identity.buildName(), identity.buildId(), tool, referenceId, snapshotId,
          instructions), log);
    }
  }

  /**
   * Runs {@code tool} on {@code snapshot} through the trusted kernel.
   *
   * @throws SlowPathException DIFFERENT_BUILD when the snapshot's kernel is not the reference's build; SNAPSHOT when
   *     its layout cannot be bridged; TOOL when a system call fails (the message names the call, the kernel
   *     function, and whether execution left T's text)
   */
  public Inspection inspect(UntrustedSnapshot snapshot, InspectionTool tool) throws SlowPathException {
    KernelIdentity theirs = snapshot.kernel().identity();
    if (!theirs.equals(identity)) {
      throw new SlowPathException(SlowPathException.Reason.DIFFERENT_BUILD, String.format(
          "snapshot %s runs kernel %s (build-id %s), but reference %s is %s (build-id %s): the slow path needs a "
              + "reference of the snapshot's own build", snapshot.id(), theirs.buildName(), theirs.buildId(),
          machine.reference().id(), identity.buildName(), identity.buildId()));
    }
    UThroughT untrusted;
    try {
      PerCpuUnits units = PerCpuUnits.of(snapshot.kernel(), profile);
      untrusted = new UThroughT(KernelMachine.copyOnWrite(snapshot.kernel().snapshot(), snapshot.kernel().layout()),
          new LayoutBridge(machine.layout(), trustedUnits, snapshot.kernel().layout(), units));
    } catch (KernelAnalysisException | IllegalArgumentException e) {
      throw new SlowPathException(SlowPathException.Reason.SNAPSHOT, snapshot.id() + ": " + e.getMessage(), e);
    }
    long start = System.nanoTime();
    machine.reset();
    long agentPid;
    try {
      agentPid = TrustedPreparation.prepare(machine);
    } catch (MachineException e) {
      throw new SlowPathException(SlowPathException.Reason.REFERENCE, "preparing the reference kernel: "
          + e.getMessage(), e);
    }
    long firstInstruction = machine.instructions();
    long firstSyscall = machine.syscalls();
    DecisionLog log = new DecisionLog();
    TaintRouter router = new TaintRouter(shadow, policy, machine.decodeCache(), text, syscallEntry,
        machine.layout().slide(), redirectedIndex, refusal, refusalIndex, log, accessBudget);
    // Time: TSC reads count from 0 at the start of the inspection. Every U boot's timekeeper took its last tick at a
    // larger TSC, so the kernel clamps the negative delta and reports U's time at its last tick before the dump.
    long base = machine.cpu().instructionsRetired();
    machine.cpu().setClock(cpu -> cpu.instructionsRetired() - base);
    redirected.inspect(untrusted);
    shadow.reset();
    machine.setShadow(shadow);
    machine.setRouter(router);
    try {
      RowContext context = new RowContext(snapshot.id(), snapshot.vmId(), identity.buildName());
      List<? extends SpecificRecord> rows = tool.run(new InspectionCalls(machine.calls(), agentPid), context);
      return new Inspection(tool.name(), snapshot.id(), machine.reference().id(), identity, rows, log,
          machine.instructions() - firstInstruction, machine.syscalls() - firstSyscall,
          Duration.ofNanos(System.nanoTime() - start), machine.notes());
    } catch (ToolException e) {
      throw new SlowPathException(SlowPathException.Reason.TOOL, tool.name() + " on " + snapshot.id() + ": "
          + e.getMessage(), e);
    } finally {
      machine.setRouter(null);
      machine.setShadow(Shadow.NONE);
      redirected.inspect(null);
    }
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
