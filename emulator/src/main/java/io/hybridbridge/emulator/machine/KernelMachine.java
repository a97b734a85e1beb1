package io.hybridbridge.emulator.machine;

import static io.hybridbridge.emulator.snapshot.CpuState.CR0_WP;
import static io.hybridbridge.emulator.snapshot.CpuState.CR3_PTI_USER;

import io.hybridbridge.emulator.cpu.AccessRouter;
import io.hybridbridge.emulator.cpu.AddressSpace;
import io.hybridbridge.emulator.cpu.Cpu;
import io.hybridbridge.emulator.cpu.CpuState;
import io.hybridbridge.emulator.cpu.FrameCache;
import io.hybridbridge.emulator.cpu.PagedMemory;
import io.hybridbridge.emulator.cpu.ScratchWindow;
import io.hybridbridge.emulator.cpu.Shadow;
import io.hybridbridge.emulator.cpu.Stop;
import io.hybridbridge.emulator.cpu.TranslatorFactory;
import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.kernel.KernelAnalysisException;
import io.hybridbridge.emulator.kernel.KernelLayout;
import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.kernel.ProfileException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.memory.PageTableWalker;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.SnapshotFormatException;
import io.hybridbridge.emulator.snapshot.Snapshots;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.ToolException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import org.apache.avro.specific.SpecificRecord;

/**
 * The trusted kernel of a reference snapshot, made runnable (DESIGN §5.1): the CPU caught in user mode inside
 * the agent (registers from the dump's notes), the MSRs Linux programs for {@code syscall}, the snapshot's
 * memory copy-on-write through its own page tables, a scratch user window for buffers and path strings, and
 * the {@link KernelRealities} (hooks, exception and bug tables, the snapshot's clock).
 *
 * <pre>{@code
 * try (KernelMachine m = KernelMachine.open(reference)) {
 *   long pid = m.syscall(Syscalls.GETPID);          // the agent's pid
 *   byte[] v = m.calls().readFile("/proc/version"); // openat + read + close, as the kernel formats it
 *   m.reset();                                      // back to the reference as dumped
 * }
 * }</pre>
 *
 * <p>Runs. A run is a sequence of system calls from the pristine reference state; kernel state (open files,
 * dcache, slab) persists from one call to the next within a run, never into the next run: {@link #reset()}
 * (done by {@link #runTool}) drops every page written (T's and every added {@link PagedMemory} space's), the
 * scratch window, and restores the registers. The decode cache and the snapshot's page cache are kept.
 *
 * <p>For the slow and fast paths: {@link #addAddressSpace}, {@link #setRouter} and {@link #setShadow} plug
 * the untrusted snapshot U and the redirection in; {@link #profile}, {@link #layout}, {@link #decodeCache},
 * {@link #instructions} expose what they need. Not thread-safe: one machine per thread.
 */
public final class KernelMachine implements AutoCloseable {
  /** The scratch user window: path strings at its base, the I/O buffer after. Unused by the agent's mappings. */
  public static final long SCRATCH_BASE = 0x7f00_0000_0000L;
  public static final long SCRATCH_SIZE = 0x20000;
  /** Where path strings go (one page). */
  static final long PATH = SCRATCH_BASE;
  /** The buffer read/getdents64/uname/clock_gettime fill. */
  static final long BUFFER = SCRATCH_BASE + 0x1000;
  static final int BUFFER_SIZE = 0x10000;
  private static final int[] ARGUMENT_REGISTERS = {Reg.RDI, Reg.RSI, Reg.RDX, Reg.R10, Reg.R8, Reg.R9};
  private static final int CLOCK_MONOTONIC = 1;

  private final ReferenceStore.Reference reference;
  private final Profile profile;
  private final Snapshot snapshot;
  private final KernelLayout layout;
  private final DecodeCache decodeCache;
  private final PagedMemory memory;
  private final ScratchWindow scratch;
  private final Cpu cpu;
  private final CpuState pristine;
  private final TranslatorFactory pageTables;
  private final long agentRip;
  private final List<PagedMemory> overlays = new ArrayList<>();
  private final KernelRealities.Faults faults;
  private final List<String> hooksMissing = new ArrayList<>();
  private final Map<Long, KernelRealities.FunctionHook> hooksAt = new HashMap<>();
  private SnapshotClock clock;
  private final SystemCalls calls = new SystemCalls(this);
  private final List<String> notes = new ArrayList<>();
  private long budget = KernelRealities.SYSCALL_BUDGET;
  private long runBudget = KernelRealities.RUN_BUDGET;
  private long runInstructions;
  private long runSyscalls;
  private boolean stoppedInKernel;
  private Set<Long> runPcs;

  /** Opens {@code reference} with a fresh decode cache. */
  public static KernelMachine open(ReferenceStore.Reference reference) throws MachineException {
    return open(reference, new DecodeCache(reference.kernelBuild()));
  }

  /**
   * Opens {@code reference}: reads its snapshot, kallsyms profile, exception and bug tables, installs the
   * hooks and calibrates the clock (a few dozen system calls).
   *
   * @param decodeCache decoded instructions of this build (shared by machines of the same build, or loaded)
   */
  public static KernelMachine open(ReferenceStore.Reference reference, DecodeCache decodeCache)
      throws MachineException {
    Profile profile;
    try {
      profile = reference.profile();
    } catch (ProfileException e) {
      throw new MachineException(MachineException.Reason.SETUP, reference.id() + ": " + e.getMessage(), e);
    }
    Snapshot snapshot;
    try {
      snapshot = Snapshots.open(reference.snapshot());
    } catch (IOException | SnapshotFormatException e) {
      throw new MachineException(MachineException.Reason.SETUP, reference.id() + ": " + e.getMessage(), e);
    }
    try {
      return new KernelMachine(reference, profile, snapshot, decodeCache);
    } catch (MachineException | RuntimeException e) {
      snapshot.close();
      throw e;
    }
  }

  private KernelMachine(ReferenceStore.Reference reference, Profile profile, Snapshot snapshot,
      DecodeCache decodeCache) throws MachineException {
    this.reference = reference;
    this.profile = profile;
    this.snapshot = snapshot;
    this.decodeCache = decodeCache;
    if (snapshot.cpus().isEmpty() || !snapshot.cpus().get(0).hasControlRegisters()) {
      throw setup("the snapshot has no CPU state with control registers (a QEMU ELF or kdump dump has it)");
    }
    var dump = snapshot.cpus().get(0);
    if (!dump.userMode()) {
      throw setup("the snapshot's CPU 0 is in kernel mode (pc 0x%x): a reference is caught in user mode inside the "
          + "agent".formatted(dump.rip()));
    }
    try {
      layout = KernelLayout.find(snapshot);
    } catch (KernelAnalysisException e) {
      throw new MachineException(MachineException.Reason.SETUP, reference.id() + ": " + e.getMessage(), e);
    }
    if (layout.slide() != profile.referenceSlide()) {
      throw setup("the kallsyms slide 0x%x is not the snapshot's 0x%x: the profile is from another boot".formatted(
          profile.referenceSlide(), layout.slide()));
    }
    int levels = dump.pagingLevels();
    boolean wp = (dump.cr0() & CR0_WP) != 0;
    CpuState state = CpuState.of(dump);
    KernelRealities.programMsrs(state, runtime("entry_SYSCALL_64"));
    agentRip = state.rip();
    // Under PTI (page-table isolation) the agent's CR3 is the user half of a pair of PGDs, which maps no kernel image;
    // the kernel half is the one LayoutFinder found. The CR3 register keeps what the kernel writes (its entry code
    // derives the kernel half from it), but memory is translated through the kernel half in user mode too: it maps
    // the same user half, the kernel's tables and variables can be read between system calls, and no user code runs
    // here (system calls are entered directly), so the user half's only difference, NX on user pages, never shows.
    long ptiUser = dump.pageTableRoot() != layout.pageTableRoot()
        && (dump.pageTableRoot() & ~CR3_PTI_USER) == layout.pageTableRoot() ? CR3_PTI_USER : 0;
    memory = new PagedMemory(new FrameCache(snapshot), new PageTableWalker(snapshot, dump.cr3() & ~ptiUser, levels,
        wp));
    // Page tables are walked as the kernel wrote them (its private copies over the snapshot).
    pageTables = cr3 -> new PageTableWalker(memory.physical(), cr3 & ~ptiUser, levels, wp);
    memory.setTranslator(pageTables.forCr3(dump.cr3()));
    scratch = memory.mapScratch(SCRATCH_BASE, SCRATCH_SIZE);
    cpu = new Cpu(state, memory, decodeCache);
    cpu.setTranslatorFactory(pageTables);
    try {
      faults = new KernelRealities.Faults(this,
          ExceptionTable.read(memory, runtime("__start___ex_table"), runtime("__stop___ex_table")),
          BugTable.read(memory, runtime("__start___bug_table"), runtime("__stop___bug_table"),
              runtime("_text"), runtime("_end")));
    } catch (MemoryAccessException e) {
      throw new MachineException(MachineException.Reason.SETUP, reference.id() + ": kernel tables unreadable: "
          + e.getMessage(), e);
    }
    cpu.setFaultHandler(faults);
    for (KernelRealities.FunctionHook hook : KernelRealities.HOOKS) {
      OptionalLong address = profile.address(hook.symbol());
      if (address.isPresent()) {
        cpu.addHook(address.getAsLong() + layout.slide(), KernelRealities.pcHook(hook, this));
        hooksAt.put(address.getAsLong() + layout.slide(), hook);
      } else {
        hooksMissing.add(hook.symbol());
      }
    }
    pristine = state.copy();
    calibrateClock();
  }

  private MachineException setup(String message) {
    return new MachineException(MachineException.Reason.SETUP, 0, reference.id() + ": " + message);
  }

  /** Runtime address of a kernel symbol of this reference. */
  long runtime(String symbol) throws MachineException {
    OptionalLong a = profile.address(symbol);
    if (a.isEmpty()) {
      throw setup("the profile has no symbol " + symbol);
    }
    return a.getAsLong() + layout.slide();
  }

  /**
   * Sets the TSC every run starts at to the kernel's last timekeeping update, found by asking the kernel's own
   * clock_gettime (see {@link SnapshotClock}), then resets. Done at open.
   *
   * @return the TSC found
   */
  public long calibrateClock() throws MachineException {
    long tscKhz;
    try {
      tscKhz = memory.read(runtime("tsc_khz"), 4);
    } catch (MemoryAccessException e) {
      throw new MachineException(MachineException.Reason.SETUP, reference.id() + ": tsc_khz unreadable", e);
    }
    long cycleLast = lastClockUpdate(tscKhz, () -> {});
    clock = new SnapshotClock(cycleLast);
    reset(); // installs and restarts it
    return cycleLast;
  }

  /**
   * The TSC of the last timekeeping update of the kernel whose timekeeper this machine's clock_gettime reads: T's,
   * or another snapshot's with a router that redirects the timekeeper's reads there (bisection, see
   * {@link SnapshotClock}). Each probe starts from a {@link #reset()} (router and shadow stay), after {@code
   * beforeEachCall}; the machine's clock and state are restored after.
   *
   * @param tscKhz that kernel's {@code tsc_khz}
   */
  public long lastClockUpdate(long tscKhz, Runnable beforeEachCall) throws MachineException {
    try {
      return SnapshotClock.lastUpdate(tsc -> {
        reset();
        beforeEachCall.run();
        cpu.setClock(c -> tsc);
        syscall(Syscalls.CLOCK_GETTIME, CLOCK_MONOTONIC, BUFFER);
        return scratchLong(BUFFER) * 1_000_000_000L + scratchLong(BUFFER + 8);
      }, tscKhz);
    } finally {
      cpu.setClock(clock); // the previous clock when the calibration failed (none at open: the machine is dropped)
      reset();
    }
  }

  // ---------------------------------------------------------------- runs

  /**
   * Starts a new run from the reference as dumped: every page written is forgotten (T's and those of the
   * {@link PagedMemory} spaces added), the scratch window zeroed, registers restored, the machine's clock
   * restarted (and reinstalled if a run replaced it), the counters restarted, the notes cleared. The router,
   * shadow and address spaces stay.
   */
  public void reset() {
    boolean sameRoot = cpu.state().cr(3) == pristine.cr(3);
    memory.discardWrites();
    for (PagedMemory overlay : overlays) {
      overlay.discardWrites();
    }
    cpu.state().restore(pristine);
    if (!sameRoot) {
      memory.setTranslator(pageTables.forCr3(pristine.cr(3)));
    }
    if (clock != null) {
      clock.restart(cpu);
      cpu.setClock(clock); // also undoes a clock set on the CPU for the last run
    }
    restartCounters(0, 0, List.of());
  }

  /** The run's counters, notes and distinct pcs as they were {@code instructions} into it. */
  private void restartCounters(long instructions, long syscalls, List<String> notesSoFar) {
    runInstructions = instructions;
    runSyscalls = syscalls;
    notes.clear();
    notes.addAll(notesSoFar);
    stoppedInKernel = false;
    if (runPcs != null) {
      runPcs.clear();
    }
  }

  /**
   * The machine as it is now, between system calls of a run: every page written, the scratch window, the registers,
   * the clock and the run's counters and notes. {@link #restore} starts a later run from here instead of from the
   * pristine reference: what a run's fixed prologue (the slow and fast paths' preparation of T) costs once. The
   * checkpoint's pages are copied, so it stays valid after the run goes on; it belongs to this machine.
   *
   * @throws IllegalStateException when the last system call stopped inside the kernel, or a run replaced the clock
   */
  public Checkpoint checkpoint() {
    if (stoppedInKernel) {
      throw new IllegalStateException("the last system call stopped inside the kernel: no checkpoint there");
    }
    if (clock == null) {
      throw new IllegalStateException("the clock is not calibrated");
    }
    return new Checkpoint(memory.writtenPages(), memory.scratchContents(), cpu.state().copy(), clock.elapsed(cpu),
        runInstructions, runSyscalls, List.copyOf(notes));
  }

  /**
   * What {@link #checkpoint} took: read-only pages and state; restoring copies what a run may change.
   */
  public static final class Checkpoint {
    private final Map<Long, byte[]> pages;
    private final List<byte[][]> scratch;
    private final CpuState state;
    private final long clockElapsed;
    private final long instructions;
    private final long syscalls;
    private final List<String> notes;

    private Checkpoint(Map<Long, byte[]> pages, List<byte[][]> scratch, CpuState state, long clockElapsed,
        long instructions, long syscalls, List<String> notes) {
      this.pages = pages;
      this.scratch = scratch;
      this.state = state;
      this.clockElapsed = clockElapsed;
      this.instructions = instructions;
      this.syscalls = syscalls;
      this.notes = notes;
    }

    /** Physical pages the run had written when the checkpoint was taken. */
    public int pages() {
      return pages.size();
    }
  }

  /**
   * Starts a new run from {@code checkpoint} (taken on this machine): as {@link #reset()}, but memory, registers,
   * clock, counters and notes are the checkpoint's. A restore costs what a reset does, plus copying the few scratch
   * pages; the checkpoint's pages are copied on their first write only.
   */
  public void restore(Checkpoint checkpoint) {
    long cr3 = cpu.state().cr(3);
    memory.discardWrites(checkpoint.pages, checkpoint.scratch);
    for (PagedMemory overlay : overlays) {
      overlay.discardWrites();
    }
    cpu.state().restore(checkpoint.state);
    if (cr3 != checkpoint.state.cr(3)) {
      memory.setTranslator(pageTables.forCr3(checkpoint.state.cr(3)));
    }
    clock.resume(cpu, checkpoint.clockElapsed);
    cpu.setClock(clock);
    restartCounters(checkpoint.instructions, checkpoint.syscalls, checkpoint.notes);
  }

  /**
   * Resets, then runs {@code tool} on this kernel ({@link #calls()}): the tool's rows, as the trusted kernel
   * formats them.
   */
  public List<? extends SpecificRecord> runTool(InspectionTool tool, RowContext context) throws ToolException {
    reset();
    return tool.run(calls, context);
  }

  /**
   * Makes system call {@code nr} from the agent, as the CPU's syscall instruction does (RCX = return RIP,
   * R11 = RFLAGS, RIP = LSTAR, CPL 0; arguments in RDI, RSI, RDX, R10, R8, R9), and runs the kernel until it
   * returns to the agent in user mode.
   *
   * @return RAX: the result, or a negated errno
   * @throws MachineException the kernel did not return to the agent (budget, fault, bug, sleep, unimplemented
   *     instruction, memory the snapshot lacks); the machine then needs {@link #reset()}
   */
  public long syscall(int nr, long... args) throws MachineException {
    if (args.length > ARGUMENT_REGISTERS.length) {
      throw new IllegalArgumentException("a system call takes at most 6 arguments, not " + args.length);
    }
    if (stoppedInKernel) {
      throw new MachineException(MachineException.Reason.UNEXPECTED_STOP, cpu.state().rip(),
          "the last system call stopped inside the kernel; reset() before the next");
    }
    CpuState s = cpu.state();
    long runLeft = runBudget - runInstructions;
    if (runLeft <= 0) {
      throw new MachineException(MachineException.Reason.BUDGET_EXHAUSTED, s.rip(), "system call " + nr + ": "
          + runBudgetExhausted());
    }
    s.set(Reg.RAX, nr);
    for (int i = 0; i < args.length; i++) {
      s.set(ARGUMENT_REGISTERS[i], args[i]);
    }
    cpu.enterSyscall();
    runSyscalls++;
    Stop stop = cpu.run(Math.min(budget, runLeft));
    runInstructions += stop.instructions();
    if (stop.reason() == Stop.Reason.USER_RETURN && stop.pc() == agentRip) {
      return s.get(Reg.RAX);
    }
    stoppedInKernel = true;
    throw failure(nr, stop, runLeft < budget);
  }

  private String runBudgetExhausted() {
    return "the run exceeded its budget of %,d instructions (a list in the snapshot that does not end?)"
        .formatted(runBudget);
  }

  /** Why system call {@code nr} stopped; {@code runLimited}: the run's budget, not the call's, limited it. */
  private MachineException failure(int nr, Stop stop, boolean runLimited) {
    String call = "system call " + nr + ": ";
    String at = "pc 0x%x (%s)".formatted(stop.pc(), locate(stop.pc()));
    return switch (stop.reason()) {
      case BUDGET_EXHAUSTED -> new MachineException(MachineException.Reason.BUDGET_EXHAUSTED, stop.pc(), call
          + (runLimited ? runBudgetExhausted() + " at " + at
              : "instruction budget of %,d exhausted at %s".formatted(budget, at)));
      case UNIMPLEMENTED -> new MachineException(MachineException.Reason.UNIMPLEMENTED_INSTRUCTION, stop.pc(),
          call + stop.detail() + " at " + at);
      case FAULT -> {
        MachineException e = faults.hasFailure() ? faults.lastFailure(stop.pc())
            : new MachineException(MachineException.Reason.KERNEL_FAULT, stop.pc(), stop.detail());
        yield new MachineException(e.reason(), stop.pc(), call + e.getMessage());
      }
      case HOOK -> new MachineException(hooksAt.get(stop.pc()).action() == KernelRealities.Action.STOP_DEATH
          ? MachineException.Reason.KERNEL_BUG : MachineException.Reason.WOULD_SLEEP, stop.pc(), call + stop.detail());
      case SPINNING -> new MachineException(MachineException.Reason.SPINNING, stop.pc(), call + ("spins at %s: a wait"
          + " loop for another CPU or an interrupt, which never come here (one CPU, a frozen snapshot), e.g. data"
          + " the snapshot caught mid-update").formatted(at));
      case MEMORY_ERROR -> new MachineException(MachineException.Reason.MEMORY_ERROR, stop.pc(),
          call + "the snapshot cannot serve an access at " + at + ": " + stop.detail());
      default -> new MachineException(MachineException.Reason.UNEXPECTED_STOP, stop.pc(),
          call + "the kernel stopped at " + at + ": " + stop);
    };
  }

  /** Whether the last system call stopped inside the kernel (the run cannot go on until {@link #reset()}). */
  public boolean stoppedInKernel() {
    return stoppedInKernel;
  }

  /** The tool-facing calls (readFile, listDirectory, uname) over {@link #syscall}. */
  public SystemCalls calls() {
    return calls;
  }

  /** Instruction budget of each system call (default {@link KernelRealities#SYSCALL_BUDGET}). */
  public void setBudget(long instructionsPerSyscall) {
    if (instructionsPerSyscall <= 0) {
      throw new IllegalArgumentException("budget must be positive: " + instructionsPerSyscall);
    }
    this.budget = instructionsPerSyscall;
  }

  /**
   * Instruction budget of a whole run, from {@link #reset()} or {@link #restore} (default {@link
   * KernelRealities#RUN_BUDGET}): the system call that reaches it stops as one over its own budget does.
   */
  public void setRunBudget(long instructionsPerRun) {
    if (instructionsPerRun <= 0) {
      throw new IllegalArgumentException("run budget must be positive: " + instructionsPerRun);
    }
    this.runBudget = instructionsPerRun;
  }

  /** Instructions the kernel executed in this run (since {@link #reset()}; a rep iteration counts as one). */
  public long instructions() {
    return runInstructions;
  }

  /**
   * Counts the distinct pcs executed from now on and in each later run ({@link #distinctPcs}; calling it again
   * starts a new count); off by default, as it costs a set insertion per instruction.
   */
  public void countDistinctPcs(boolean on) {
    runPcs = on ? new HashSet<>() : null;
    cpu.setPcObserver(on ? runPcs::add : null);
  }

  /** Distinct pcs executed in this run, when {@link #countDistinctPcs} is on; otherwise -1. */
  public int distinctPcs() {
    return runPcs == null ? -1 : runPcs.size();
  }

  /** System calls made in this run. */
  public long syscalls() {
    return runSyscalls;
  }

  /** What the kernel reported in this run and carried on: WARNs (bug table) and printk format strings. */
  public List<String> notes() {
    return List.copyOf(notes);
  }

  void note(String message) {
    if (notes.size() < 1000) {
      notes.add(message);
    }
  }

  // ---------------------------------------------------------------- for the slow and fast paths

  /**
   * Adds an address space a router may send data accesses to (U, copy-on-write); returns its index. A
   * {@link PagedMemory} has its writes discarded with T's at every {@link #reset()}.
   */
  public int addAddressSpace(AddressSpace space) {
    if (space instanceof PagedMemory paged) {
      overlays.add(paged);
    }
    return cpu.addAddressSpace(space);
  }

  /** Routes every data access (null: all local, the default and fastest). */
  public void setRouter(AccessRouter router) {
    cpu.setRouter(router);
  }

  /** The value domain riding along (default {@link Shadow#NONE}: concrete only, fastest). */
  public void setShadow(Shadow shadow) {
    cpu.setShadow(shadow);
  }

  /**
   * The kernel memory of another snapshot, copy-on-write, through its own kernel page tables: what U is for
   * {@link #addAddressSpace}. The snapshot file is never written.
   */
  public static PagedMemory copyOnWrite(Snapshot snapshot, KernelLayout layout) {
    PagedMemory memory = new PagedMemory(new FrameCache(snapshot),
        new PageTableWalker(snapshot, layout.pageTableRoot(), layout.pagingLevels(), true));
    memory.setTranslator(new PageTableWalker(memory.physical(), layout.pageTableRoot(), layout.pagingLevels(), true));
    return memory;
  }

  public ReferenceStore.Reference reference() {
    return reference;
  }

  public Profile profile() {
    return profile;
  }

  /** T's KASLR layout (its slide equals the profile's reference slide). */
  public KernelLayout layout() {
    return layout;
  }

  public Snapshot snapshot() {
    return snapshot;
  }

  public DecodeCache decodeCache() {
    return decodeCache;
  }

  /** The CPU (state, hooks, address spaces): for extensions beyond the methods above. */
  public Cpu cpu() {
    return cpu;
  }

  /** The local address space (T, copy-on-write). */
  public PagedMemory memory() {
    return memory;
  }

  /** The scratch user window ({@link #SCRATCH_BASE}). */
  public ScratchWindow scratch() {
    return scratch;
  }

  /** The fault handler with the kernel's exception and bug tables. */
  KernelRealities.Faults faults() {
    return faults;
  }

  /** Hooks of {@link KernelRealities#HOOKS} whose symbol this build does not have. */
  public List<String> hooksMissing() {
    return List.copyOf(hooksMissing);
  }

  /** The TSC every run starts at (the kernel's last timekeeping update before the dump). */
  public long clockStart() {
    return clock.start();
  }

  /** {@code function+0x1f} for a runtime kernel address, or the bare address outside the image. */
  public String locate(long runtimeAddress) {
    return profile.symbolAt(runtimeAddress - layout.slide()).map(Object::toString)
        .orElse("0x" + Long.toHexString(runtimeAddress));
  }

  /** A little-endian 64-bit value of the scratch window. */
  long scratchLong(long address) {
    return ByteBuffer.wrap(scratch.get(address, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }

  /** A NUL-terminated string of kernel or scratch memory (at most {@code max} bytes; "?" when unreadable). */
  String cString(long address, int max) {
    byte[] b = new byte[max];
    int n = 0;
    try {
      while (n < max && (b[n] = (byte) memory.read(address + n, 1)) != 0) {
        n++;
      }
    } catch (MemoryAccessException e) {
      return new String(b, 0, n, StandardCharsets.UTF_8) + "?";
    }
    return new String(b, 0, n, StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    cpu.close();
    snapshot.close();
  }
}
