package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.kernel.KernelIdentity;
import io.hybridbridge.emulator.kernel.ProfileException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.machine.KernelMachine;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.schemas.TrainingMetadata;
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
 * <p>One inspection is a {@link BridgedMachine#inspect} with the {@link TaintRouter} and the {@link TaintShadow}
 * plugged in (the fast path runs the same one with its memoized table instead). Not thread-safe: one slow path per
 * thread; it can inspect any number of snapshots of its build one after the other.
 */
public final class SlowPath implements AutoCloseable {
  private final BridgedMachine bridge;
  private final RedirectPolicy policy;
  private final TaintShadow shadow;

  private SlowPath(BridgedMachine bridge, Path kallsyms, List<RedirectPolicy.ContextVariable> context)
      throws SlowPathException {
    this.bridge = bridge;
    KernelMachine machine = bridge.machine();
    try {
      policy = new RedirectPolicy(bridge.profile(), kallsyms, machine.layout(), bridge.trustedUnits(), context);
    } catch (ProfileException e) {
      throw new SlowPathException(SlowPathException.Reason.REFERENCE, "reference " + machine.reference().id() + ": "
          + e.getMessage(), e);
    }
    shadow = new TaintShadow(bridge::lastRead, new long[] {bridge.runtime("page_offset_base"),
        bridge.runtime("vmemmap_base"), bridge.runtime("vmalloc_base")}, policy.perCpuBaseVariables());
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
    BridgedMachine bridge = BridgedMachine.open(reference);
    try {
      return new SlowPath(bridge, kallsyms, context);
    } catch (SlowPathException | RuntimeException e) {
      bridge.close();
      throw e;
    }
  }

  /** The reference's kernel build. */
  public KernelIdentity identity() {
    return bridge.identity();
  }

  public KernelMachine machine() {
    return bridge.machine();
  }

  /** The machine this slow path inspects on; the fast path runs on the same one (one machine per reference). */
  public BridgedMachine bridge() {
    return bridge;
  }

  public RedirectPolicy policy() {
    return policy;
  }

  /**
   * What one inspection produced.
   *
   * @param wallTime the whole inspection (reset, T's preparation, U plugged in, the tool)
   * @param executionTime the tool's system calls alone
   */
  public record Inspection(String tool, String snapshotId, String referenceId, KernelIdentity identity,
      List<? extends SpecificRecord> rows, DecisionLog log, long instructions, long syscalls, Duration wallTime,
      Duration executionTime, List<String> notes) {
    /** Distinct (instruction, operand) pairs redirected at least once. */
    public long redirectedInstructions() {
      return log.redirectedInstructions();
    }

    /** The training metadata of this run. */
    public TrainingMetadata metadata() {
      return Metadata.of(new Metadata.Run(identity.buildName(), identity.buildId(), tool, referenceId, snapshotId,
          instructions), log);
    }

    /** One line: rows, instructions, redirected instructions, metadata entries, system calls, wall time. */
    public String summary() {
      return String.format("%s: %d rows, %,d instructions, %,d redirected instructions, %,d metadata entries, "
              + "%d system calls, %.3f s", tool, rows.size(), instructions, redirectedInstructions(),
          log.entries().size(), syscalls, wallTime.toNanos() / 1e9);
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
    calibrateClock(snapshot);
    DecisionLog log = new DecisionLog();
    KernelMachine machine = bridge.machine();
    TaintRouter router = router(log);
    BridgedMachine.Run run = bridge.inspect(snapshot, tool, router, shadow, shadow::reset);
    return new Inspection(tool.name(), snapshot.id(), machine.reference().id(), bridge.identity(), run.rows(), log,
        run.instructions(), run.syscalls(), run.wallTime(), run.executionTime(), run.notes());
  }

  /**
   * Finds the TSC inspections of {@code snapshot} start at, once per snapshot, this slow path's policy redirecting
   * the kernel's timekeeper to U ({@link BridgedMachine#clockStart}); both paths call it before an inspection, so
   * both run the tool at the same time. What it decides is not the tools' metadata.
   */
  public void calibrateClock(UntrustedSnapshot snapshot) throws SlowPathException {
    if (snapshot.clockStart().isEmpty()) {
      snapshot.setClockStart(bridge.clockStart(snapshot, router(new DecisionLog()), shadow, shadow::reset));
    }
  }

  private TaintRouter router(DecisionLog log) {
    return new TaintRouter(shadow, policy, bridge.guard(), bridge.machine().layout(),
        bridge.untrustedSpace(), bridge.perCpuSpace(), log);
  }

  @Override
  public void close() {
    bridge.close();
  }
}
