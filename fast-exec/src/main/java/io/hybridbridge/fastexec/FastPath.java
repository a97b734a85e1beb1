package io.hybridbridge.fastexec;

import io.hybridbridge.emulator.cpu.Cpu;
import io.hybridbridge.emulator.cpu.Shadow;
import io.hybridbridge.emulator.cpu.TranslationException;
import io.hybridbridge.emulator.kernel.KernelIdentity;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.fastexec.store.TranslationStore;
import io.hybridbridge.schemas.FallbackRow;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.MetadataException;
import io.hybridbridge.taint.slowpath.BridgedMachine;
import io.hybridbridge.taint.slowpath.SlowPath;
import io.hybridbridge.taint.slowpath.SlowPathException;
import io.hybridbridge.taint.slowpath.UntrustedSnapshot;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/**
 * The fast path (FAST-BRIDGE, DESIGN §5.5): the same inspection as the slow path, on the same machine, with no taint
 * and no shadow ({@link Shadow#NONE}): each data access is decided by the memoized training metadata of (build, tool),
 * compiled into a {@link DecisionTable}; a memory-operand instruction the table does not cover, or a mixed one in a
 * call-site context it does not know, stops the run with a {@link FallbackRow} instead of rows. Never a guess.
 *
 * <pre>{@code
 * try (FastPath fast = FastPath.open(reference);
 *      UntrustedSnapshot u = UntrustedSnapshot.open(path, "vm1/dump3", "vm1")) {
 *   FastPath.Inspection ps = fast.inspect(u, Tools.PS, metadata);       // rows, or a fallback
 *   if (ps.fellBack()) {
 *     SlowPath.Inspection slow = fast.slow().inspect(u, Tools.PS);       // rows and the missing metadata
 *   }
 * }
 * }</pre>
 *
 * <p>Everything but the router is the slow path's own code ({@link BridgedMachine}: T's preparation, U through T's
 * layout with its pointer rebasing, the clock rule, the checked /proc listing; {@link
 * io.hybridbridge.taint.slowpath.CallContext}: the context hash), so both paths give identical rows whenever they
 * take the same decisions. Rebasing needs no taint: {@link io.hybridbridge.taint.layout.UThroughT} rebases every
 * aligned qword loaded from the redirected space, so it follows from the decision alone. Not thread-safe.
 */
public final class FastPath implements AutoCloseable {
  private final SlowPath slow;
  private final BridgedMachine bridge;
  /** The last metadata compiled per tool, by identity (Avro's equals and hashCode walk every entry). */
  private final Map<String, Compiled> compiled = new HashMap<>();
  private int translateAfter = TRANSLATE_AFTER;
  private long inspections;
  /** Kept for every inspection's router (see {@link SlotSet}). */
  private final SlotSet redirectedSeen = new SlotSet();
  private long translationNanos;
  private String translationFailure;
  /** Where translated code is kept (null: nowhere). */
  private TranslationStore translations;
  /** Whether this fast path has translated the plan kept in {@link #translations}. */
  private boolean replayed;

  /**
   * Fast inspections a fast path runs, by default, before it translates blocks. Translating a build's hot code costs
   * 1.3–6.2 s of javac (measured, ≈ 1,800–2,900 blocks, load-dependent) and the JIT's compilations; it saves ≈ 40–90
   * ms of CPU per ps inspection and about nothing on the other tools (`hb bench paths`): it pays after some 15–150
   * snapshots of one build on one worker. A fleet scan of thousands of snapshots gets there; a command inspecting a
   * few does not.
   */
  public static final int TRANSLATE_AFTER = 250;
  /**
   * A block is translated once it has run as many times as this many runs in each of the first {@code translateAfter}
   * inspections make (4,000 by default): ps's loops get there in its first inspections, the code every tool runs a
   * few times per inspection after some thousands of them. Code that runs less is cheaper to interpret than to
   * compile twice (javac, then the JIT): javac takes ≈ 0.5–2 ms a block, which a block saves in some 10,000 runs.
   */
  private static final int HOT = 16;
  /** Hot block starts not translated yet that make a new translation worth its compilation at once. */
  private static final int TRANSLATE_BATCH = 32;

  private FastPath(SlowPath slow) {
    this.slow = slow;
    this.bridge = slow.bridge();
    bridge.machine().cpu().setTranslation(true);
  }

  /**
   * Whether fast inspections run translated blocks of T's code (JVM bytecode, {@code emulator}'s BlockTranslator)
   * once this fast path has run {@link #setTranslateAfter} of them (default on), or only interpret. The slow path
   * always interprets (its value domain rides along every instruction).
   */
  public void setTranslation(boolean on) {
    bridge.machine().cpu().setTranslation(on);
  }

  /** Fast inspections to run before translating blocks (default {@link #TRANSLATE_AFTER}; a benchmark uses fewer). */
  public void setTranslateAfter(int inspections) {
    if (inspections < 1) {
      throw new IllegalArgumentException("translate after at least one inspection: " + inspections);
    }
    translateAfter = inspections;
  }

  /**
   * Keeps T's translated code in {@code store}: when this fast path first translates ({@link #setTranslateAfter}), it
   * translates what fast paths of this reference translated before (its plan there) too, with the regions compiled
   * then, and compiles only what no fast path compiled before. A worker then skips the compiler, but not the JIT's
   * work on the translated code, which a fast path repays only over many inspections: hence no translation before
   * {@code translateAfter} inspections even with a store (a user who knows a worker runs long can lower it).
   */
  public void keepTranslations(TranslationStore store) {
    translations = store;
    bridge.machine().cpu().setCompiledRegions(store);
  }

  /** Translates the blocks of the kept plan; returns how many batches and regions compiled, for the log. */
  private String translateKept() throws TranslationException {
    List<List<Long>> plan = translations.plan(planKey());
    if (plan.isEmpty()) {
      return "";
    }
    int compiled = regionsCompiled();
    for (List<Long> batch : plan) {
      bridge.machine().cpu().translate(batch);
    }
    return String.format("%d kept batches (%d regions compiled again), ", plan.size(), regionsCompiled() - compiled);
  }

  /** What a plan of translated code is kept under: this reference, its build and where T's kernel lies. */
  private String planKey() {
    return bridge.machine().reference().id() + " " + bridge.identity().buildId() + " "
        + Long.toHexString(bridge.slide());
  }

  /** Regions of translated blocks this fast path had javac compile (the others it found compiled). */
  public int regionsCompiled() {
    return bridge.machine().cpu().regionsCompiled();
  }

  /** Blocks of T's code translated so far. */
  public int translatedBlocks() {
    return bridge.machine().cpu().translatedBlocks();
  }

  /** Blocks translated so far, or why translation stopped (e.g. a Java runtime without a compiler). */
  public String translationStatus() {
    return translationFailure != null ? "translation off: " + translationFailure
        : String.format("%d blocks translated in %.1f s", translatedBlocks(), translationNanos / 1e9);
  }

  /** Opens the kernel machine of {@code reference}, shared by the fast path and the slow path it falls back to. */
  public static FastPath open(ReferenceStore.Reference reference) throws SlowPathException {
    return new FastPath(SlowPath.open(reference));
  }

  /** The slow path on the same machine: for fallbacks, training and audits. */
  public SlowPath slow() {
    return slow;
  }

  /** The reference's kernel build. */
  public KernelIdentity identity() {
    return bridge.identity();
  }

  private record Compiled(TrainingMetadata metadata, DecisionTable table) {}

  /**
   * {@code metadata} compiled for this reference (the last one of each tool is kept).
   *
   * @throws MetadataException when it is not metadata of this reference's build (build-id)
   */
  public DecisionTable compile(TrainingMetadata metadata) throws MetadataException {
    Compiled last = compiled.get(metadata.getTool());
    if (last != null && last.metadata() == metadata) {
      return last.table();
    }
    KernelIdentity identity = bridge.identity();
    if (!metadata.getBuildId().equals(identity.buildId())) {
      throw new MetadataException(String.format("metadata of %s (build-id %s) cannot drive reference %s of %s "
              + "(build-id %s)", metadata.getKernelBuild(), metadata.getBuildId(), bridge.machine().reference().id(),
          identity.buildName(), identity.buildId()));
    }
    DecisionTable table = DecisionTable.compile(metadata, bridge.slide());
    compiled.put(metadata.getTool(), new Compiled(metadata, table));
    return table;
  }

  /**
   * What one fast inspection produced: rows, or (when {@link #fellBack()}) no rows and the fallback.
   *
   * @param redirectedInstructions distinct (instruction, operand) pairs redirected at least once
   * @param untabled accesses the table did not decide that needed no decision from training:
   *     operands whose address uses no register but RSP or RIP (the policy decides them from the address alone),
   *     reads whose bytes T and U hold alike
   * @param wallTime the whole inspection (reset, T's preparation, U plugged in, the tool)
   * @param executionTime the tool's system calls alone (up to the stop, for a fallback)
   */
  public record Inspection(String tool, String snapshotId, List<? extends SpecificRecord> rows, FallbackRow fallback,
      long instructions, long syscalls, long redirectedInstructions, long untabled, Duration wallTime,
      Duration executionTime, List<String> notes) {
    public boolean fellBack() {
      return fallback != null;
    }

    /** One line: rows or the fallback, instructions, redirected instructions, system calls, wall time. */
    public String summary() {
      String what = fellBack()
          ? String.format("fell back (%s at %s, operand %d) after", fallback.getReason(), fallback.getSymbol(),
              fallback.getOperand())
          : rows.size() + " rows,";
      return String.format("%s: %s %,d instructions, %,d redirected instructions, %d system calls, %.3f s (fast)", tool,
          what, instructions, redirectedInstructions, syscalls, wallTime.toNanos() / 1e9);
    }
  }

  /**
   * Runs {@code tool} on {@code snapshot} with the decisions of {@code metadata}.
   *
   * @throws MetadataException when {@code metadata} is not of this build or of this tool
   * @throws SlowPathException as the slow path: DIFFERENT_BUILD, SNAPSHOT, REFERENCE, TOOL (a failure that is not a
   *     fallback: a fault, a budget, execution outside T's text)
   */
  public Inspection inspect(UntrustedSnapshot snapshot, InspectionTool tool, TrainingMetadata metadata)
      throws SlowPathException, MetadataException {
    if (!metadata.getTool().equals(tool.name())) {
      throw new MetadataException("metadata of tool " + metadata.getTool() + " cannot drive tool " + tool.name());
    }
    return inspect(snapshot, tool, compile(metadata));
  }

  /** Runs {@code tool} on {@code snapshot} with the decisions of {@code table} (compiled by {@link #compile}). */
  public Inspection inspect(UntrustedSnapshot snapshot, InspectionTool tool, DecisionTable table)
      throws SlowPathException {
    FastRouter router = new FastRouter(table, slow.policy(), bridge.guard(), bridge.machine(),
        bridge.untrusted(), bridge.untrustedSpace(), bridge.perCpuSpace(), redirectedSeen);
    try {
      return inspect(snapshot, tool, router);
    } finally {
      translate();
    }
  }

  /** Translates the hot block starts fast inspections met, when it is worth a compilation (see setTranslateAfter). */
  private void translate() {
    Cpu cpu = bridge.machine().cpu();
    inspections++;
    if (!cpu.translation() || inspections < translateAfter) {
      return;
    }
    boolean replay = !replayed && translations != null; // the kept plan, at the first opportunity
    long hot = (long) HOT * translateAfter;
    int pending = cpu.pendingBlocks(hot);
    // fewer than a batch: the first time, then at powers of two only (a worker compiles once per batch or doubling)
    if (!replay && (pending == 0 || (pending < TRANSLATE_BATCH && inspections != translateAfter
        && Long.bitCount(inspections) != 1))) {
      return;
    }
    replayed |= replay;
    long start = System.nanoTime();
    boolean first = cpu.translatedBlocks() == 0;
    String kept = "";
    try {
      if (replay) {
        kept = translateKept();
      }
      List<Long> batch = cpu.translatePending(hot);
      if (translations != null) {
        translations.addBatch(planKey(), batch);
      }
    } catch (TranslationException e) {
      translationFailure = e.getMessage();
      setTranslation(false); // interpreting gives the same rows
    }
    translationNanos += System.nanoTime() - start;
    if (first || translationFailure != null) { // once per worker and build: a line in the worker's log
      System.err.printf("fast path of %s, after %d inspections: %s%s%n", bridge.identity().buildName(), inspections,
          kept, translationStatus());
    }
  }

  private Inspection inspect(UntrustedSnapshot snapshot, InspectionTool tool, FastRouter router)
      throws SlowPathException {
    long start = System.nanoTime();
    BridgedMachine.Run run;
    try {
      slow.calibrateClock(snapshot);
      run = bridge.inspect(snapshot, tool, router, Shadow.NONE, router::start);
    } catch (SlowPathException e) {
      if (router.stop() == null) {
        throw e;
      }
      return fellBack(snapshot, tool, router, Duration.ofNanos(System.nanoTime() - start));
    }
    if (router.stop() != null) { // an access the table did not cover, whose result the instruction did not use
      return fellBack(snapshot, tool, router, run.wallTime());
    }
    return new Inspection(tool.name(), snapshot.id(), run.rows(), null, run.instructions(), run.syscalls(),
        router.redirectedInstructions(), router.untabled(), run.wallTime(), run.executionTime(), run.notes());
  }

  private Inspection fellBack(UntrustedSnapshot snapshot, InspectionTool tool, FastRouter router, Duration wall) {
    FastRouter.Stop stop = router.stop();
    long pcOffset = stop.pc() - bridge.slide();
    KernelIdentity identity = bridge.identity();
    FallbackRow fallback = FallbackRow.newBuilder()
        .setSnapshotId(snapshot.id())
        .setVmId(snapshot.vmId())
        .setKernelBuild(identity.buildName())
        .setBuildId(identity.buildId())
        .setTool(tool.name())
        .setPcOffset(pcOffset)
        .setSymbol(bridge.profile().symbolAt(pcOffset).map(Object::toString).orElse(null))
        .setOperand(stop.operand())
        .setContext(stop.context())
        .setCallSites(Arrays.stream(stop.callSites()).boxed().toList())
        .setReason(stop.reason().name())
        .setInstructionsBefore(stop.instructions())
        .build();
    return new Inspection(tool.name(), snapshot.id(), List.of(), fallback, stop.instructions(), stop.syscalls(),
        router.redirectedInstructions(), router.untabled(), wall, wall, bridge.machine().notes());
  }

  @Override
  public void close() {
    slow.close();
  }
}
