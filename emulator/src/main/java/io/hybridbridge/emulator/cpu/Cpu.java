package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.decode.DecodeException;
import io.hybridbridge.emulator.decode.Instruction;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.decode.X86Decoder;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.memory.PageFaultException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One x86-64 CPU over a memory: state, decode cache, instruction semantics and the run loop.
 *
 * <pre>{@code
 * Cpu cpu = new Cpu(state, new PagedMemory(frames, translator), decodeCache);
 * Stop stop = cpu.run(1_000_000);   // until sysretq/iretq to user mode, a fault, a hook, the budget...
 * }</pre>
 *
 * <p>Extension points: {@link #addHook} (code run before a pc executes), {@link #setFaultHandler} (page
 * faults, #UD, #GP, #DE, #BP, with the state at the faulting instruction and the ability to resume
 * elsewhere), {@link #setRouter} + {@link #addAddressSpace} (which address space serves each data access),
 * {@link #setShadow} (the value domain riding along every dataflow step), {@link #setTranslatorFactory} (CR3
 * loads), {@link #setCpuid}, {@link #setClock}. Not thread-safe: one CPU per thread.
 */
public final class Cpu implements AutoCloseable {
  private static final int HOOK_FILTER_BITS = 12;
  /** Code pages whose decoded instructions the CPU keeps at hand (a system call runs code from ≈ 1000 pages). */
  private static final int CODE_CACHE = 2048;

  private final CpuState state;
  private final PagedMemory memory;
  private final DecodeCache decodeCache;
  private final Executor executor;
  private final List<AddressSpace> spaces = new ArrayList<>();
  private X86Decoder decoder;
  private FaultHandler faultHandler = FaultHandler.STOP;
  private TranslatorFactory translators;
  private Cpuid cpuid = Cpuid.DEFAULT;
  private TscClock clock = TscClock.counting(0, 1);
  private final Map<Long, PcHook> hooks = new HashMap<>();
  /**
   * hookTags[hash(pc)]: the one hooked pc of that slot, {@link #SEVERAL_HOOKS} when several share it, 0 when none:
   * one array read and a compare per instruction; hookAt[hash(pc)]: that one pc's hook. The map only for slots that
   * several share: netstat runs a hook ≈ 4,300 times per inspection (one per hash bucket), and looking each up in
   * the map cost ≈ 3 % of its fast path (measured).
   */
  private final long[] hookTags = new long[1 << HOOK_FILTER_BITS];
  private final PcHook[] hookAt = new PcHook[1 << HOOK_FILTER_BITS];
  private static final long SEVERAL_HOOKS = 1;
  private long instructionsRetired;
  private final long[] codeTags = new long[CODE_CACHE];
  private final Instruction[][] codePages = new Instruction[CODE_CACHE][];
  private final byte[] fetchBuffer = new byte[X86Decoder.MAX_LENGTH];
  private java.util.function.LongConsumer pcObserver;

  // Block translation (BlockTranslator): runs without a value domain run translated blocks where they have one, and
  // count the block starts they interpret, to be translated by translatePending().
  private boolean translation;
  private CompiledRegions compiledRegions = CompiledRegions.NONE;
  private int regionsCompiled;
  /** Block starts met so far: translated, or known to have no block (null value). */
  private final Map<Long, BlockTranslator.Block> blocks = new HashMap<>();
  /**
   * Direct-mapped caches of {@link #blocks} for the run loop, by {@link #blockSlot}: blockAt, the translated blocks (a
   * block's own pc is its tag, so a hit reads one array and the block, which holds its code); absentTags, starts that
   * have no block, with countAt, the execution count of a start not translated yet (else null).
   */
  private final BlockTranslator.Block[] blockAt = new BlockTranslator.Block[1 << BLOCK_CACHE_BITS];
  private final long[] absentTags = new long[1 << BLOCK_CACHE_BITS];
  private final long[][] countAt = new long[1 << BLOCK_CACHE_BITS][];
  private static final int BLOCK_CACHE_BITS = 14;
  /** Block starts met without a block, and how many times each ran. */
  private final Map<Long, long[]> pendingStarts = new java.util.LinkedHashMap<>();
  /** No threshold a caller asks for, nor a count a start reaches. */
  private static final long NOT_COUNTED = Long.MIN_VALUE;
  /**
   * The starts of {@link #pendingStarts} that ran {@code hotThreshold} times or more, counted as they get there
   * ({@link #NOT_COUNTED} since the starts last changed otherwise): a fast path asks after every inspection, and
   * counting thousands of starts each time cost a small tool's inspection a few per cent.
   */
  private long hotThreshold = NOT_COUNTED;
  private int hotPending;
  /** The translated block running now (null: none), for precise faults and the retired count inside it. */
  private BlockTranslator.Block running;

  /**
   * @param state the architectural state (shared, not copied: the caller may keep changing it between runs)
   * @param memory the local address space: code is fetched from it and it serves every access the router
   *     does not send elsewhere
   * @param decodeCache decoded instructions of the code this CPU runs (may be shared between CPUs)
   */
  public Cpu(CpuState state, PagedMemory memory, DecodeCache decodeCache) {
    this.state = state;
    this.memory = memory;
    this.decodeCache = decodeCache;
    this.executor = new Executor(this, state);
    spaces.add(memory);
    executor.spaces = spaces.toArray(new AddressSpace[0]);
    java.util.Arrays.fill(codeTags, -1);
    java.util.Arrays.fill(absentTags, -1);
  }

  public CpuState state() {
    return state;
  }

  /** The local address space. */
  public PagedMemory memory() {
    return memory;
  }

  public DecodeCache decodeCache() {
    return decodeCache;
  }

  /**
   * Instructions retired since this CPU was created (a rep iteration counts as one; a hook that stood in for a
   * function does not, though a run's budget counts it).
   */
  public long instructionsRetired() {
    return running == null ? instructionsRetired
        : instructionsRetired + executor.regionDone + executor.blockIndex - executor.standIns;
  }

  /** Adds an address space a router may choose; returns its index (the local space is 0). */
  public int addAddressSpace(AddressSpace space) {
    spaces.add(space);
    executor.spaces = spaces.toArray(new AddressSpace[0]);
    executor.unbind();
    return spaces.size() - 1;
  }

  /** Routes every data access through {@code router} (null: everything is local). */
  public void setRouter(AccessRouter router) {
    executor.setRouter(router);
  }

  /** Plugs a value domain in ({@link Shadow#NONE}: concrete execution only). */
  public void setShadow(Shadow shadow) {
    executor.shadow = shadow;
    executor.tracking = shadow != Shadow.NONE;
  }

  public void setFaultHandler(FaultHandler handler) {
    this.faultHandler = handler;
  }

  /** How a CR3 load finds its translator (null: CR3 loads only flush the TLB). */
  public void setTranslatorFactory(TranslatorFactory translators) {
    this.translators = translators;
  }

  public Cpuid cpuid() {
    return cpuid;
  }

  public void setCpuid(Cpuid cpuid) {
    this.cpuid = cpuid;
  }

  public TscClock clock() {
    return clock;
  }

  public void setClock(TscClock clock) {
    this.clock = clock;
  }

  /**
   * Calls {@code observer} with the pc of every instruction about to execute (null: none, the default). For
   * counting distinct pcs in tools and benchmarks; it costs a call per instruction.
   */
  public void setPcObserver(java.util.function.LongConsumer observer) {
    this.pcObserver = observer;
  }

  /**
   * Turns block translation on or off (off by default). On: runs without a value domain run the translated blocks of
   * {@link #translatePending} instead of interpreting their instructions one by one, and count the block starts they
   * interpret. Runs with a value domain, a pc observer, or less budget left than a block, always interpret.
   */
  public void setTranslation(boolean on) {
    translation = on;
  }

  public boolean translation() {
    return translation;
  }

  /** Block starts recorded and not translated yet that ran at least {@code executions} times. */
  public int pendingBlocks(long executions) {
    if (executions != hotThreshold) {
      hotThreshold = executions;
      hotPending = (int) pendingStarts.values().stream().filter(c -> c[0] >= executions).count();
    }
    return hotPending;
  }

  /** Blocks translated so far (since the last hook change). */
  public int translatedBlocks() {
    return (int) blocks.values().stream().filter(java.util.Objects::nonNull).count();
  }

  /**
   * Translates the recorded block starts that ran at least {@code executions} times into JVM bytecode (one compilation
   * by the JDK's compiler, of the regions not compiled before: {@link #setCompiledRegions}): later runs execute them.
   * Colder starts stay recorded, and counted. Returns the starts translated, hottest first (the order regions are
   * grouped in): {@link #translate} of the same starts in the same order on the same code gives the same regions.
   *
   * @throws TranslationException no compiler in this Java runtime, or a translation that does not compile; the CPU
   *     keeps interpreting
   */
  public List<Long> translatePending(long executions) throws TranslationException {
    List<Long> starts = new ArrayList<>();
    pendingStarts.forEach((pc, count) -> {
      if (count[0] >= executions) {
        starts.add(pc);
      }
    });
    if (starts.isEmpty()) {
      return starts;
    }
    starts.sort(java.util.Comparator.comparingLong(pc -> -pendingStarts.get(pc)[0])); // hottest first; stable
    starts.forEach(pendingStarts::remove);
    hotThreshold = NOT_COUNTED;
    BlockTranslator.Translation translation = BlockTranslator.translate(new BlockTranslator.Code() {
      @Override
      public Instruction instruction(long pc) throws MemoryAccessException, DecodeException {
        return Cpu.this.instruction(pc);
      }

      @Override
      public boolean hooked(long pc) {
        return hooks.containsKey(pc);
      }

      @Override
      public BlockTranslator.Block translated(long pc) {
        return blocks.get(pc);
      }

      @Override
      public boolean standsIn(long pc) {
        PcHook hook = hooks.get(pc);
        return hook != null && hook.standsIn();
      }
    }, starts, compiledRegions);
    for (long start : starts) {
      blocks.put(start, translation.blocks().get(start));
    }
    regionsCompiled += translation.compiled();
    executor.ensureSites(BlockTranslator.sites());
    emptyBlockCache();
    return starts;
  }

  /**
   * Translates the blocks at {@code starts} now, those not translated yet (a batch {@link #translatePending} returned
   * before, e.g. in another JVM, in its order). Returns the blocks translated.
   */
  public int translate(java.util.Collection<Long> starts) throws TranslationException {
    starts.stream().filter(pc -> !blocks.containsKey(pc)).forEach(pc -> {
      pendingStarts.remove(pc); // at the end, in the order given
      pendingStarts.put(pc, new long[] {Long.MAX_VALUE});
    });
    hotThreshold = NOT_COUNTED;
    return (int) translatePending(Long.MAX_VALUE).stream().filter(pc -> blocks.get(pc) != null).count();
  }

  /** Regions of translated blocks javac compiled for this CPU (the others were found compiled). */
  public int regionsCompiled() {
    return regionsCompiled;
  }

  /** Where translation finds regions compiled before and keeps those it compiles (default: nowhere). */
  public void setCompiledRegions(CompiledRegions regions) {
    compiledRegions = java.util.Objects.requireNonNull(regions);
  }

  /** The translated block at {@code pc}, or null (tests). */
  BlockTranslator.Block translatedBlock(long pc) {
    return blocks.get(pc);
  }

  /** Runs the blocks {@code other} translated (they hold no state of a CPU; the code must be the same). */
  void adoptBlocks(Cpu other) {
    blocks.putAll(other.blocks);
    executor.ensureSites(BlockTranslator.sites());
    emptyBlockCache();
  }

  private void forgetBlocks() {
    blocks.clear();
    pendingStarts.clear();
    hotThreshold = NOT_COUNTED;
    emptyBlockCache();
  }

  private void emptyBlockCache() {
    java.util.Arrays.fill(blockAt, null);
    java.util.Arrays.fill(absentTags, -1);
    java.util.Arrays.fill(countAt, null);
  }

  /** The translated block at {@code pc}, or null; counts pc as a block start to translate if it has no block yet. */
  private BlockTranslator.Block block(long pc) {
    int slot = blockSlot(pc);
    BlockTranslator.Block b = blockAt[slot];
    return b != null && b.pc == pc ? b : blockMissed(slot, pc);
  }

  static int blockSlot(long pc) {
    return (int) (pc ^ (pc >>> BLOCK_CACHE_BITS)) & ((1 << BLOCK_CACHE_BITS) - 1);
  }

  /** {@link #block} when blockAt does not hold pc's block: pc's block from {@link #blocks}, or null, counted. */
  private BlockTranslator.Block blockMissed(int slot, long pc) {
    if (absentTags[slot] != pc) {
      BlockTranslator.Block b = blocks.get(pc);
      if (b != null) {
        blockAt[slot] = b;
        return b;
      }
      absentTags[slot] = pc;
      countAt[slot] = blocks.containsKey(pc) ? null : pendingStarts.computeIfAbsent(pc, k -> new long[1]);
    }
    long[] count = countAt[slot];
    if (count != null && ++count[0] == hotThreshold) {
      hotPending++;
    }
    return null;
  }

  /** Runs {@code hook} before every execution of the instruction at {@code pc} (replacing any other). */
  public void addHook(long pc, PcHook hook) {
    hooks.put(pc, hook);
    tagHooks();
  }

  public void removeHook(long pc) {
    hooks.remove(pc);
    tagHooks();
  }

  private void tagHooks() {
    forgetBlocks(); // a block may run past a pc that is hooked now
    java.util.Arrays.fill(hookTags, 0);
    java.util.Arrays.fill(hookAt, null);
    for (long p : hooks.keySet()) {
      int slot = hookSlot(p);
      hookTags[slot] = hookTags[slot] == 0 ? p : SEVERAL_HOOKS;
      hookAt[slot] = hooks.get(p);
    }
  }

  static int hookSlot(long pc) {
    return (int) (pc ^ (pc >>> HOOK_FILTER_BITS) ^ (pc >>> 2 * HOOK_FILTER_BITS)) & ((1 << HOOK_FILTER_BITS) - 1);
  }

  /** The hook at {@code pc}, or null: the filter's array, the map only for a slot several hooked pcs share. */
  private PcHook hook(long pc) {
    int slot = hookSlot(pc);
    long tag = hookTags[slot];
    return tag == pc ? hookAt[slot] : tag == SEVERAL_HOOKS ? hooks.get(pc) : null;
  }

  /**
   * Runs the hook at {@code pc} that stands in for the function there ({@link PcHook#standsIn}), for a translated
   * call to it.
   */
  void standIn(long pc) throws MemoryAccessException {
    if (hook(pc).beforeExecute(this).stop()) {
      throw new IllegalStateException("a hook that stands in for a function stopped the run at "
          + Long.toHexString(pc));
    }
  }

  /**
   * Runs until an instruction ends the run or {@code budget} instructions have executed.
   *
   * @return why the run stopped; the state is left where it stopped (after the sysretq for USER_RETURN,
   *     at the faulting or unimplemented instruction for FAULT and UNIMPLEMENTED), so runs can be resumed
   */
  public Stop run(long budget) {
    long executed = 0;
    executor.pauses = 0;
    boolean blockStart = true; // the run starts a block; so does the instruction after a branch
    int straight = 0; // instructions interpreted since the last block start
    while (true) {
      if (executed >= budget) {
        return new Stop(Stop.Reason.BUDGET_EXHAUSTED, state.rip, "budget of " + budget + " instructions", null,
            executed);
      }
      long pc = state.rip;
      Fault fault;
      try {
        if (translation && blockStart && !executor.tracking && pcObserver == null
            && budget - executed > BlockTranslator.MAX_INSTRUCTIONS) {
          BlockTranslator.Block block = block(pc);
          if (block != null) {
            executor.regionDone = 0;
            executor.blockIndex = 0;
            executor.standIns = 0;
            running = block;
            long steps;
            try {
              steps = block.run(executor, state.gpr, state, budget - executed - BlockTranslator.MAX_INSTRUCTIONS);
            } catch (MemoryAccessException | ArchitecturalFault | UnimplementedInstructionException e) {
              long done = executor.regionDone + executor.blockIndex; // the region's instructions before this one
              executed += done;
              instructionsRetired += done - executor.standIns;
              pc = executor.pc; // the fault is the instruction's, handled below as the interpreter's
              throw e;
            } finally {
              running = null;
            }
            executed += steps;
            instructionsRetired += steps - executor.standIns;
            continue; // the region left its blocks or ran its share of the budget; no block starts at a hooked pc
          }
        }
        PcHook hook = hook(pc);
        boolean hooked = hook != null;
        if (hooked) {
          PcHook.Result result = hook.beforeExecute(this);
          if (result.stop()) {
            return new Stop(Stop.Reason.HOOK, pc, result.reason(), null, executed);
          }
          if (state.rip != pc) {
            executed++; // the hook stood in for the code at pc
            blockStart = true;
            continue;
          }
        }
        Instruction insn = instruction(pc);
        if (pcObserver != null) {
          pcObserver.accept(pc);
        }
        executor.repAllowance = budget - executed;
        long steps = executor.execute(insn, pc);
        executed += steps;
        instructionsRetired += steps;
        // A block also ends before a hooked pc and after MAX_INSTRUCTIONS: where one could start next is looked up
        // too, or a straight line the interpreter entered (a kernel's unrolled hash: thousands of instructions)
        // would be interpreted to its end, its blocks never counted.
        straight = blockStart ? 1 : straight + 1;
        blockStart = !translation || BlockTranslator.endsBlock(insn) || hooked
            || straight == BlockTranslator.MAX_INSTRUCTIONS;
        if (executor.stopRequest != null) {
          Stop.Reason reason = executor.stopRequest;
          executor.stopRequest = null;
          return new Stop(reason, state.rip, insn.text, null, executed);
        }
        continue;
      } catch (PageFaultException e) {
        if (e.kind() == PageFaultException.Kind.TABLE_OUTSIDE_IMAGE) {
          state.rip = pc; // the image is broken, not the guest's access
          return new Stop(Stop.Reason.MEMORY_ERROR, pc, e.getMessage(), null, executed);
        }
        if (e.kind() == PageFaultException.Kind.NON_CANONICAL) {
          fault = new Fault(Fault.GP, pc, e.address(), 0, e.getMessage());
        } else {
          state.cr2 = e.address();
          fault = new Fault(Fault.PF, pc, e.address(), e.errorCode(), e.getMessage());
        }
      } catch (MemoryAccessException e) {
        state.rip = pc;
        return new Stop(Stop.Reason.MEMORY_ERROR, pc, e.getMessage(), null, executed);
      } catch (ArchitecturalFault e) {
        fault = new Fault(e.vector, pc, 0, e.errorCode, e.getMessage());
      } catch (DecodeException e) {
        fault = new Fault(Fault.UD, pc, 0, 0, e.getMessage());
      } catch (UnimplementedInstructionException e) {
        state.rip = pc;
        return new Stop(Stop.Reason.UNIMPLEMENTED, pc, "unimplemented instruction '" + e.getMessage() + "'", null,
            executed);
      }
      blockStart = true; // the fault handler resumes elsewhere, or at the same instruction
      state.rip = pc; // the state before the faulting instruction
      if (faultHandler.handle(this, fault) != FaultHandler.Action.RESUME) {
        return new Stop(Stop.Reason.FAULT, pc, fault.toString(), fault, executed);
      }
      executed++; // a resumed fault counts as a step, so a handler that resumes in a loop still ends
    }
  }

  /** The decoded instruction at {@code pc}, decoding (and caching) it on first use. */
  public Instruction instruction(long pc) throws MemoryAccessException, DecodeException {
    long page = pc >>> 12;
    int slot = (int) page & (CODE_CACHE - 1);
    Instruction[] insns;
    if (codeTags[slot] == page) {
      insns = codePages[slot];
    } else {
      insns = decodeCache.page(page);
      codePages[slot] = insns;
      codeTags[slot] = page;
    }
    Instruction insn = insns[(int) pc & 0xfff];
    return insn != null ? insn : decode(pc, insns);
  }

  private Instruction decode(long pc, Instruction[] page) throws MemoryAccessException, DecodeException {
    int n = memory.fetch(pc, fetchBuffer, fetchBuffer.length);
    if (decoder == null) {
      decoder = X86Decoder.open();
    }
    Instruction insn;
    try {
      insn = decoder.decode(pc, fetchBuffer, 0, n);
    } catch (DecodeException e) {
      if (n < fetchBuffer.length) {
        memory.fetch(pc + n, fetchBuffer, 1); // the instruction may run into a page that faults: raise that
      }
      throw e;
    }
    page[(int) pc & 0xfff] = insn;
    return insn;
  }

  /** Enters the kernel as the syscall instruction does, returning to the current RIP. */
  public void enterSyscall() throws IllegalStateException {
    try {
      executor.syscall(state.rip);
    } catch (ArchitecturalFault e) {
      throw new IllegalStateException(e.getMessage());
    }
  }

  /**
   * Returns from the current function as if it had executed {@code ret} with {@code rax} as result: for hooks
   * that stand in for a whole function. The return address is read from the local space.
   */
  public void returnFromFunction(long rax) throws MemoryAccessException {
    long rsp = state.gpr[Reg.RSP];
    long ret = memory.read(rsp, 8);
    state.gpr[Reg.RSP] = rsp + 8;
    state.gpr[Reg.RAX] = rax;
    state.rip = ret;
  }

  void writeControlRegister(int n, long value) throws ArchitecturalFault {
    switch (n) {
      case 0:
      case 4:
        state.setCr(n, value);
        flushAll();
        break;
      case 2:
      case 8:
        state.setCr(n, value);
        break;
      case 3:
        state.cr3 = value & ~(1L << 63); // bit 63: "do not flush this PCID", not part of CR3
        if (translators != null) {
          memory.setTranslator(translators.forCr3(value));
        }
        flushAll();
        break;
      default:
        throw new ArchitecturalFault(Fault.UD, 0, "mov to CR" + n);
    }
  }

  private void flushAll() {
    for (AddressSpace m : spaces) {
      m.flush();
    }
  }

  @Override
  public void close() {
    if (decoder != null) {
      decoder.close();
      decoder = null;
    }
  }
}
