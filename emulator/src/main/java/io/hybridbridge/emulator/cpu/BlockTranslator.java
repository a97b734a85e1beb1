package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.decode.DecodeException;
import io.hybridbridge.emulator.decode.Instruction;
import io.hybridbridge.emulator.decode.MemoryRole;
import io.hybridbridge.emulator.decode.Mnemonic;
import io.hybridbridge.emulator.decode.Operand;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.OutputStream;
import java.lang.constant.ConstantDescs;
import java.lang.invoke.MethodHandles;
import java.lang.ref.WeakReference;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.FileObject;
import javax.tools.ForwardingJavaFileManager;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileManager;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

/**
 * Translates the code a CPU runs into JVM bytecode, for runs without a value domain (the fast path). A block is the
 * straight-line code from a start pc up to and including its branch; blocks that jump, fall through or call into each
 * other are grouped into a region, one Java method that goes from block to block without returning to the run loop,
 * which the JIT compiles to native code. What a block does is what the interpreter would do instruction by
 * instruction, and it uses the interpreter's own pieces for everything but plain register and flag arithmetic:
 * <ul>
 *   <li>every data access is one call to the executor ({@link Executor#read}, {@link Executor#write}, {@link
 *       Executor#call}, {@link Executor#ret}): the site's binding, or the interpreter's own routing, so a router sees
 *       the same accesses, in the same order, with the same instruction and pc;
 *   <li>flags are the interpreter's lazy flags ({@link CpuState#lazy}, set in place: {@link #lazy}; {@link
 *       CpuState#condition});
 *   <li>rotates, and shifts by CL (whose count may be 0), call the interpreter's own definition of their result and
 *       flags ({@link Executor#shiftOrRotate(Mnemonic, long, long, int, CpuState)}); shifts by an immediate count are
 *       that definition with the count known, in place;
 *   <li>instructions with no translation of their own (one-operand multiplications, divisions, bts/btr/btc, bit
 *       tests on memory, adc/sbb, ...) run through the interpreter ({@link Executor#interpret}) in the middle of the
 *       block, and so do cli, sti and popfq, which change only flags here (no interrupt is ever delivered), so that
 *       the kernel's interrupt masking does not end a block;
 *   <li>anything with an effect beyond registers, flags and routed memory (system instructions, string instructions,
 *       the TSC, {@code pause}) ends the block before it, and the run loop interprets it; no block starts at or
 *       passes a hooked pc.
 * </ul>
 * Translated forms exist for the instructions that make up most of the kernel's dynamic instruction count (mov, lea,
 * add/sub/and/or/xor/cmp/test, inc/dec, not, push/pop, cmovcc/setcc, shifts and rotates, bswap, cbw/cwde/cdqe,
 * jcc/jmp/call/ret: 99 % of what ps runs in blocks, counted; then bt on a register, imul of two or three operands,
 * cmpxchg and xadd on memory). They are a second statement of those instructions' semantics, so {@code
 * DifferentialTest} runs every one of its 1,634 instruction forms translated as well as interpreted against Unicorn;
 * and the fast path's dataset tests compare translated runs' rows and instruction counts with the slow path's on real
 * snapshots.
 *
 * <p>A fault in a block stops at the faulting instruction with the state before it, as in the interpreter: the region
 * records the instructions done before each block ({@link Executor#regionDone}) and each access its instruction
 * ({@link Executor#blockIndex}); an instruction makes its memory accesses before it changes registers.
 *
 * <p>Source is generated and compiled with the JDK's own compiler ({@code javax.tools}), then defined in this package
 * as hidden classes ({@link MethodHandles.Lookup#defineHiddenClass}), unloaded once no CPU uses them: no code generator
 * library, and the generated source can be read (system property {@value #DUMP}).
 */
final class BlockTranslator {
  /** Instructions in a block at most (a longer straight line continues in the next block). */
  static final int MAX_INSTRUCTIONS = 64;
  /**
   * Estimated bytecode of a region at most (see {@link #estimatedBytecode}): a region is one method, which must stay under the
   * JIT's limit on the size of methods it compiles (8000 bytes), with room for the estimate's error. Larger regions
   * run faster (fewer returns to the run loop) even though the JIT then inlines nothing into them (measured).
   */
  private static final int REGION_BYTECODE = 7000;
  /** The size of the largest method HotSpot compiles (its {@code HugeMethodLimit}, in bytes of bytecode). */
  static final int HUGE_METHOD = 8000;
  /** Estimated bytecode of a region at most: {@link #REGION_BYTECODE}; tests widen it to make oversized regions. */
  static int regionBytecode = REGION_BYTECODE;
  /** Access sites of all translated blocks (a site: one memory access of one instruction, which a router may bind). */
  private static final AtomicInteger SITES = new AtomicInteger();

  /**
   * An access site: its instruction's pc and index in its block, and the access (an explicit operand's index, or
   * {@link MemoryAccess#STACK}; its role and size), which the executor routes by when the site is not bound.
   */
  record Site(long pc, int index, int operand, MemoryRole role, int size) {}

  /** Every access site this JVM defined, by id (replaced, grown, under {@link #define}'s lock). */
  private static volatile Site[] definedSites = new Site[1024];

  /** The access site {@code id} ({@link Executor#read} and the like route by it). */
  static Site site(int id) {
    return definedSites[id];
  }

  private static void defineSites(int first, List<Site> sites) {
    Site[] all = definedSites;
    if (first + sites.size() > all.length) {
      all = java.util.Arrays.copyOf(all, Math.max(first + sites.size(), 2 * all.length));
    }
    for (int k = 0; k < sites.size(); k++) {
      all[first + k] = sites.get(k);
    }
    definedSites = all;
  }

  /**
   * While a region's source is generated (one at a time: {@link #define} is synchronized): its access site being
   * generated, and whether an earlier access of the same instruction has chosen the site's space already.
   */
  private static String access;
  private static boolean accessed;

  /** Access sites numbered so far: every site id is below it. */
  static int sites() {
    return SITES.get();
  }

  /** Instructions a block may run through the interpreter: they touch registers, flags and routed memory only. */
  private static final Set<Mnemonic> INLINE = EnumSet.of(
      Mnemonic.MOV, Mnemonic.MOVZX, Mnemonic.MOVSX, Mnemonic.MOVSXD, Mnemonic.LEA, Mnemonic.XCHG, Mnemonic.CMPXCHG,
      Mnemonic.CMPXCHG8B, Mnemonic.CMPXCHG16B, Mnemonic.XADD, Mnemonic.BSWAP, Mnemonic.CBW, Mnemonic.CWDE,
      Mnemonic.CDQE, Mnemonic.CWD, Mnemonic.CDQ, Mnemonic.CQO, Mnemonic.PUSH, Mnemonic.POP, Mnemonic.PUSHFQ,
      Mnemonic.LEAVE, Mnemonic.LAHF, Mnemonic.SAHF, Mnemonic.ADD, Mnemonic.ADC, Mnemonic.SUB, Mnemonic.SBB,
      Mnemonic.CMP, Mnemonic.AND, Mnemonic.OR, Mnemonic.XOR, Mnemonic.TEST, Mnemonic.NOT, Mnemonic.NEG, Mnemonic.INC,
      Mnemonic.DEC, Mnemonic.SHL, Mnemonic.SHR, Mnemonic.SAR, Mnemonic.ROL, Mnemonic.ROR, Mnemonic.RCL, Mnemonic.RCR,
      Mnemonic.SHLD, Mnemonic.SHRD, Mnemonic.MUL, Mnemonic.IMUL, Mnemonic.DIV, Mnemonic.IDIV, Mnemonic.BT,
      Mnemonic.BTS, Mnemonic.BTR, Mnemonic.BTC, Mnemonic.BSF, Mnemonic.BSR, Mnemonic.TZCNT, Mnemonic.LZCNT,
      Mnemonic.POPCNT, Mnemonic.SETCC, Mnemonic.CMOVCC, Mnemonic.NOP, Mnemonic.LFENCE, Mnemonic.MFENCE,
      Mnemonic.SFENCE, Mnemonic.PREFETCH, Mnemonic.CLC, Mnemonic.STC, Mnemonic.CMC, Mnemonic.CLD, Mnemonic.STD,
      Mnemonic.CLI, Mnemonic.STI, Mnemonic.POPFQ); // system flags: no interrupts are delivered here

  /**
   * The code of one region: runs from its block {@code id} while control stays in the region (jumps, calls and returns
   * to its own blocks) and at most about {@code limit} instructions; returns the instructions executed, with RIP at the
   * next one.
   */
  abstract static class BlockCode { // a class, not an interface: one virtual call per region run, not an itable search
    /** The length of the bytecode of its {@code run}. */
    int bytecode;

    abstract long run(int id, Executor x, long[] r, CpuState s, Instruction[][] in, long limit)
        throws MemoryAccessException, ArchitecturalFault, UnimplementedInstructionException;
  }

  /** A translated block. */
  static final class Block {
    final long pc;
    final Instruction[] instructions;
    /** pcs[k]: the address of instructions[k]. */
    final long[] pcs;
    private Region region;
    /**
     * Its id in its region's method, the method and the instructions of the region's blocks: held here, not only by
     * the region, so that the run loop reaches the code from the block with no further load (a dependent load that
     * missed the cache on many of the ≈ 11 k region runs of a netstat inspection: emulator README).
     */
    private int id;
    private BlockCode code;
    private Instruction[][] regionInstructions;
    /** Its place in the order it was translated in, hottest first (see {@link #regions}). */
    private int rank;
    /**
     * It ends with a call to a hook that stands in for the function called ({@link PcHook#standsIn}): the region runs
     * the hook and goes on where it returns to, normally the block's end, which may be in the region.
     */
    private boolean callsStandIn;
    /**
     * It is a copy of a small leaf function's block in the region of a caller ({@link #copyLeaves}); the run loop
     * never finds it, and its region is named after and split by its own blocks.
     */
    private final boolean copy;

    private Block(long pc, List<Instruction> instructions) {
      this.copy = false;
      this.pc = pc;
      this.instructions = instructions.toArray(new Instruction[0]);
      this.pcs = new long[this.instructions.length];
      long p = pc;
      for (int k = 0; k < pcs.length; k++) {
        pcs[k] = p;
        p += this.instructions[k].length;
      }
    }

    /** A copy of {@code original} for another region. */
    private Block(Block original) {
      this.copy = true;
      this.pc = original.pc;
      this.instructions = original.instructions;
      this.pcs = original.pcs;
      this.rank = original.rank;
    }

    int length() {
      return instructions.length;
    }

    /** The length of the bytecode of its region's method. */
    int regionBytecode() {
      return region.bytecode;
    }

    /** Its region (tests: which blocks share a method). */
    Object region() {
      return region;
    }

    /** Whether its region's method holds a block at {@code pc}, its own or a copy (tests). */
    boolean regionHolds(long pc) {
      return region.ids.containsKey(pc);
    }

    /** The estimated bytecode of the block's code in its region's method. */
    int estimatedBytecode() {
      int bytes = callsStandIn ? 70 : 30; // the hook's call, and where it returned to
      for (Instruction i : instructions) {
        bytes += BlockTranslator.estimatedBytecode(i);
      }
      return bytes;
    }

    /** The pc after the block's last instruction (where it falls through, or a call returns). */
    long end() {
      return pcs[pcs.length - 1] + instructions[instructions.length - 1].length;
    }

    /** Runs the region from this block: at most {@code limit} + {@link #MAX_INSTRUCTIONS} instructions. */
    long run(Executor x, long[] r, CpuState s, long limit)
        throws MemoryAccessException, ArchitecturalFault, UnimplementedInstructionException {
      return code.run(id, x, r, s, regionInstructions, limit);
    }
  }

  /** Blocks compiled into one method that jumps between them without returning to the run loop. */
  private static final class Region {
    final List<Block> blocks = new ArrayList<>();
    final Map<Long, Integer> ids = new TreeMap<>();
    /** How its method goes from block to block (while its source is generated). */
    RegionControlFlow flow;
    /** The length of the region's method's bytecode. */
    int bytecode;

    /** Its first block that is not a copy (its class is named after it). */
    Block first() {
      return blocks.stream().filter(b -> !b.copy).findFirst().orElseThrow();
    }

    /**
     * A new access site of the region's source: an index into {@link Executor#bindings}, counted from the region's
     * first site {@code S}, which is given to its class when it is defined: the source does not depend on what this
     * JVM translated before, so compiled regions can be kept and shared ({@link CompiledRegions}).
     */
    final List<Site> siteList = new ArrayList<>();

    /**
     * Makes {@code site} the access site being generated; returns a comment that describes it, so that the source
     * (whose hash finds a kept class) says everything the site's description holds.
     */
    String site(Site site) {
      int k = siteList.size();
      siteList.add(site);
      access = k == 0 ? "S" : "S + " + k;
      accessed = false;
      return "    // " + access + ": instruction " + site.index() + " at " + hex(site.pc()) + ", operand " + site.operand()
          + ", " + site.role() + ", size " + site.size() + "\n";
    }
  }

  /** Where blocks read their instructions from. */
  interface Code {
    Instruction instruction(long pc) throws MemoryAccessException, DecodeException;

    /** Whether a hook runs before {@code pc} (no block starts there or passes it). */
    boolean hooked(long pc);

    /** Whether the hook at {@code pc} stands in for the function there ({@link PcHook#standsIn}). */
    boolean standsIn(long pc);

    /** The block translated before at {@code pc}, or null. */
    Block translated(long pc);
  }

  private BlockTranslator() {}

  /**
   * The estimated bytecode of {@code i}'s translation, fitted to the regions javac made of 6.12's ps blocks (javap):
   * about 30 bytes an instruction, 30 more for each access site (its call), 21 more where it sets the lazy flags, 30
   * a block (its start recorded, the count, the way into the next case); the largest of the 290 regions of 6.12's ps
   * came out at 6,844 bytes (none over {@link #HUGE_METHOD}), and {@link #define} checks the real size.
   */
  private static int estimatedBytecode(Instruction i) {
    boolean explicit = i.memory != null && i.memoryRole != MemoryRole.ADDRESS_ONLY;
    boolean stack = translated(i) && (i.mnemonic == Mnemonic.PUSH || i.mnemonic == Mnemonic.POP
        || i.mnemonic == Mnemonic.CALL || i.mnemonic == Mnemonic.RET);
    return 30 + (explicit ? 30 : 0) + (stack ? 30 : 0) + (setsLazyFlags(i) ? 21 : 0);
  }

  /** Whether {@code i}'s translation sets the lazy flags in place ({@link #lazy}: 21 bytes more than a call). */
  private static boolean setsLazyFlags(Instruction i) {
    switch (i.mnemonic) {
      case ADD: case SUB: case AND: case OR: case XOR: case CMP: case TEST: case INC: case DEC: case CMPXCHG:
      case XADD: case IMUL:
        return translated(i);
      case SHL: case SHR: case SAR:
        return shiftsByImmediate(i);
      default:
        return false;
    }
  }

  /** Whether {@code i} is a translated shl, shr or sar by a nonzero immediate count (set in the region, no call). */
  private static boolean shiftsByImmediate(Instruction i) {
    return translated(i) && i.op1.kind == Operand.IMM && Executor.shiftCount(i.op1.imm, i.operandSize) != 0;
  }

  /** Whether the next instruction after {@code i} starts a block (i branches, or cannot be in one). */
  static boolean endsBlock(Instruction i) {
    return isBranch(i) || !inline(i);
  }

  /**
   * Translates the blocks starting at {@code starts}, in one compilation of the regions that neither this JVM nor
   * {@code kept} has compiled before (a region's source, hence its class, depends only on the blocks, the leaf
   * functions translated before ({@link #copyLeaves}) and the translator: the same batches of starts in the same
   * order, hottest first, in the same code give the same regions).
   *
   * @return the blocks, by start pc (a start whose first instruction cannot be in a block has none), and how many
   *     regions javac compiled for them
   */
  static Translation translate(Code code, Iterable<Long> starts, CompiledRegions kept)
      throws TranslationException {
    Map<Long, Block> blocks = new TreeMap<>();
    int rank = 0;
    for (long start : starts) {
      Block b = form(code, start);
      if (b != null) {
        b.rank = rank;
        blocks.put(start, b);
      }
      rank++;
    }
    int compiled = define(blocks, regionBytecode, kept, code);
    blocks.values().removeIf(b -> b.region == null); // a single block too large for the JIT: interpreted instead
    return new Translation(blocks, compiled);
  }

  /** Blocks translated, by start pc, and the regions javac compiled for them (the others were found compiled). */
  record Translation(Map<Long, Block> blocks, int compiled) {}

  /**
   * The regions this JVM defined, by {@link #key}: CPUs of the same code share a region's class (and the JIT's work
   * on it) for as long as one of them runs it.
   */
  private static final Map<String, WeakReference<BlockCode>> DEFINED = new HashMap<>();

  /**
   * Compiles {@code blocks} into regions of about {@code budget} bytes of bytecode each, and defines them. A region
   * whose method came out larger than the JIT compiles ({@link #HUGE_METHOD}: the estimate was short, on code unlike
   * that it was fitted on) is split again with half the budget: run by the JVM's interpreter, it would be slower than
   * not translating at all. Returns the regions compiled. One definition at a time: compilations are rare, javac is
   * memory-hungry, and a CPU that waited for another's compilation of the same code finds its regions defined.
   */
  private static synchronized int define(Map<Long, Block> blocks, int budget, CompiledRegions kept, Code known)
      throws TranslationException {
    List<Region> regions = regions(blocks, budget, known);
    List<Source> sources = new ArrayList<>();
    for (Region region : regions) {
      String name = "TranslatedRegion_" + Long.toHexString(region.first().pc); // one class per start pc
      String text = source(name, region);
      sources.add(new Source(name, text, key(text)));
    }
    if (sources.isEmpty()) {
      return 0;
    }
    dump(sources);
    Map<Long, Block> oversized = new TreeMap<>();
    List<Integer> missing = new ArrayList<>();
    for (int g = 0; g < sources.size(); g++) {
      Source source = sources.get(g);
      Region region = regions.get(g);
      BlockCode code = defined(source.key);
      if (code != null) {
        run(region, code);
        continue;
      }
      byte[] classFile = kept.find(source.key);
      if (classFile == null) {
        missing.add(g);
        continue;
      }
      try {
        fit(region, classFile, source.key, oversized);
      } catch (TranslationException | RuntimeException e) { // damaged, say: compiled again, as if not kept
        System.err.println("translated blocks: the kept class of " + source.name + " is not used (" + e + ")");
        missing.add(g);
      }
    }
    if (!missing.isEmpty()) {
      List<Source> compiling = missing.stream().map(sources::get).toList();
      Map<String, byte[]> compiled = compile(compiling);
      for (int g : missing) {
        Source source = sources.get(g);
        byte[] classFile = compiled.get(PACKAGE + "." + source.name);
        kept.keep(source.key, classFile);
        fit(regions.get(g), classFile, source.key, oversized);
      }
    }
    return missing.size() + (oversized.isEmpty() ? 0 : define(oversized, budget / 2, kept, known));
  }

  /**
   * Runs {@code region} with the class {@code classFile}, or, when its method is larger than the JIT compiles, adds
   * the region's blocks to {@code oversized} (a single block stays untranslated).
   */
  private static void fit(Region region, byte[] classFile, String key, Map<Long, Block> oversized)
      throws TranslationException {
    int bytecode = codeLength(classFile, "run");
    if (bytecode <= HUGE_METHOD) {
      run(region, defineRegion(classFile, bytecode, region, key));
    } else {
      List<Block> own = region.blocks.stream().filter(block -> !block.copy).toList();
      if (own.size() > 1) {
        own.forEach(block -> oversized.put(block.pc, block));
      }
    }
  }

  /** Makes {@code code} the code of {@code region}'s blocks. */
  private static void run(Region region, BlockCode code) {
    region.bytecode = code.bytecode;
    Instruction[][] instructions = new Instruction[region.blocks.size()][];
    for (int id = 0; id < region.blocks.size(); id++) {
      Block block = region.blocks.get(id);
      instructions[id] = block.instructions;
      block.region = region;
      block.id = id;
      block.code = code;
      block.regionInstructions = instructions;
    }
  }

  /** Forgets the regions this JVM defined (tests: as a JVM that has defined none). */
  static void forgetDefined() {
    synchronized (DEFINED) {
      DEFINED.clear();
    }
  }

  /** The region this JVM defined for {@code key} and still runs, or null. */
  private static BlockCode defined(String key) {
    synchronized (DEFINED) {
      WeakReference<BlockCode> code = DEFINED.get(key);
      return code == null ? null : code.get();
    }
  }

  /**
   * Defines a region's class, whose method has {@code bytecode} bytes, with its first access site (numbered here: its
   * {@code sites} are new to this JVM).
   */
  private static BlockCode defineRegion(byte[] classFile, int bytecode, Region region, String key)
      throws TranslationException {
    try {
      int base = SITES.getAndAdd(region.siteList.size());
      defineSites(base, region.siteList);
      // hidden: unloaded with the blocks that use it, so a long-lived worker does not keep every CPU's code
      Class<?> c = MethodHandles.lookup().defineHiddenClassWithClassData(classFile, base, true)
          .lookupClass();
      BlockCode code = (BlockCode) c.getDeclaredConstructor().newInstance();
      code.bytecode = bytecode;
      synchronized (DEFINED) {
        DEFINED.values().removeIf(r -> r.get() == null);
        DEFINED.put(key, new WeakReference<>(code));
      }
      return code;
    } catch (ReflectiveOperationException | LinkageError e) {
      throw new TranslationException("defining translated blocks failed: " + e, e);
    }
  }

  /** The first access site of the region being initialized (its class data, from {@link #defineRegion}). */
  static int firstSite(MethodHandles.Lookup region) {
    try {
      return MethodHandles.classData(region, ConstantDescs.DEFAULT_NAME, Integer.class);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * What a region's class is kept under: a hash of its source and of what the class links to (the classes its code
   * calls and reads, and the Java version that compiles it), so that a class kept by another build of this code or
   * another JDK is never found.
   */
  static String key(String source) {
    MessageDigest sha = sha256();
    sha.update(LINKED.getBytes(StandardCharsets.UTF_8));
    sha.update(source.getBytes(StandardCharsets.UTF_8));
    return HexFormat.of().formatHex(sha.digest());
  }

  /** The classes a region's code links to, hashed with the Java version (see {@link #key}). */
  private static final String LINKED = linked(BlockTranslator.class, BlockCode.class, Executor.class, CpuState.class,
      AddressSpace.class, AccessRouter.class, Instruction.class, MemoryRole.class, Mnemonic.class,
      MemoryAccessException.class, ArchitecturalFault.class, UnimplementedInstructionException.class);

  private static String linked(Class<?>... classes) {
    MessageDigest sha = sha256();
    sha.update(("java " + Runtime.version().feature() + "\n").getBytes(StandardCharsets.UTF_8));
    for (Class<?> c : classes) {
      String file = c.getName().substring(c.getPackageName().length() + 1) + ".class";
      try (java.io.InputStream in = c.getResourceAsStream(file)) {
        if (in == null) {
          throw new IllegalStateException("no class file " + file + " of " + c);
        }
        sha.update(in.readAllBytes());
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
    return HexFormat.of().formatHex(sha.digest());
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  /**
   * The length of the bytecode of the method {@code name} in {@code classFile} (JVMS 4: the constant pool, then
   * fields and methods with their attributes; the method's Code attribute holds its length). Only javac's output for
   * {@link #source} is read here, which has one method of that name.
   */
  static int codeLength(byte[] classFile, String name) {
    java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(classFile);
    in.position(8); // magic, minor and major version
    int constants = in.getShort() & 0xffff;
    String[] utf8 = new String[constants];
    for (int k = 1; k < constants; k++) {
      int tag = in.get();
      switch (tag) {
        case 1: { // Utf8: the names looked up below are ASCII, read as such
          byte[] bytes = new byte[in.getShort() & 0xffff];
          in.get(bytes);
          utf8[k] = new String(bytes, java.nio.charset.StandardCharsets.ISO_8859_1);
          break;
        }
        case 5: case 6: // Long, Double: two entries
          in.position(in.position() + 8);
          k++;
          break;
        case 3: case 4: case 9: case 10: case 11: case 12: case 17: case 18: // 4 bytes of indices or value
          in.position(in.position() + 4);
          break;
        case 15: // MethodHandle
          in.position(in.position() + 3);
          break;
        case 7: case 8: case 16: case 19: case 20: // Class, String, MethodType, Module, Package
          in.position(in.position() + 2);
          break;
        default:
          throw new IllegalArgumentException("constant pool tag " + tag + " at entry " + k);
      }
    }
    in.position(in.position() + 6); // access flags, this class, super class
    int interfaces = in.getShort() & 0xffff;
    in.position(in.position() + 2 * interfaces);
    for (int members = 0; members < 2; members++) { // fields, then methods
      for (int count = in.getShort() & 0xffff; count > 0; count--) {
        in.getShort(); // access flags
        String member = utf8[in.getShort() & 0xffff];
        in.getShort(); // descriptor
        for (int attributes = in.getShort() & 0xffff; attributes > 0; attributes--) {
          String attribute = utf8[in.getShort() & 0xffff];
          int length = in.getInt();
          if (members == 1 && member.equals(name) && attribute.equals("Code")) {
            return in.getInt(in.position() + 4); // after max_stack and max_locals
          }
          in.position(in.position() + length);
        }
      }
    }
    throw new IllegalArgumentException("no method " + name + " with code");
  }

  /**
   * Groups blocks into regions: a block joins the region of each block it can go to directly (its jump targets, where
   * it falls through, what it calls and where that call returns), up to {@code budget} bytes of estimated bytecode a
   * region, along the hottest edges first (an edge is as hot as its colder end's rank: the starts come hottest
   * first). Every edge between regions costs a return to the run loop and a block lookup each time it is taken; in
   * address order, a cold block filled the region of a hot loop it jumps into, and 6.12's ps left regions ≈ 240 k
   * times an inspection, ≈ 160 k hottest first. Then each region takes copies of the small leaf functions it calls
   * ({@link #copyLeaves}; {@code known}: the blocks translated before).
   */
  private static List<Region> regions(Map<Long, Block> blocks, int budget, Code known) {
    Map<Long, Long> parent = new TreeMap<>();
    Map<Long, Integer> sizes = new TreeMap<>();
    List<long[]> edges = new ArrayList<>(); // {from, to, rank of the colder end}
    for (Block b : blocks.values()) {
      parent.put(b.pc, b.pc);
      sizes.put(b.pc, b.estimatedBytecode());
      for (long successor : successors(b)) {
        Block to = blocks.get(successor);
        if (to != null) {
          edges.add(new long[] {b.pc, successor, Math.max(b.rank, to.rank)});
        }
      }
    }
    edges.sort(java.util.Comparator.comparingLong(e -> e[2])); // stable: ties in pc order
    for (long[] edge : edges) {
      long x = root(parent, edge[0]);
      long y = root(parent, edge[1]);
      if (x != y && sizes.get(x) + sizes.get(y) <= budget) {
        parent.put(y, x);
        sizes.put(x, sizes.get(x) + sizes.get(y));
      }
    }
    Map<Long, Region> byRoot = new TreeMap<>();
    for (Block b : blocks.values()) {
      Region region = byRoot.computeIfAbsent(root(parent, b.pc), k -> new Region());
      region.ids.put(b.pc, region.blocks.size());
      region.blocks.add(b);
    }
    java.util.function.LongFunction<Block> translated = pc -> {
      Block b = blocks.get(pc); // this batch's, else one translated before
      return b != null ? b : known.translated(pc);
    };
    byRoot.forEach((root, region) -> copyLeaves(region, sizes.get(root), translated, budget));
    return new ArrayList<>(byRoot.values());
  }

  /** Blocks of a leaf function that {@link #copyLeaves} copies into a caller's region, at most. */
  private static final int LEAF_BLOCKS = 4;

  /**
   * Copies into {@code region} ({@code size}: its blocks' estimated bytecode), within {@code budget}, the blocks of
   * each small leaf function its blocks call that another region holds (a function of at most {@link #LEAF_BLOCKS}
   * blocks that calls nothing and returns): the call and its return then stay in the region instead of going through
   * the run loop twice. netstat's spin locks and RCU read locks are such leaves, each in a region of its own, called
   * from dozens (paired ratios 0.957–0.986 on netstat, 0.986 on ps, 0.992 on lsmod: emulator README). A copy has its
   * own access sites; the run loop finds only the original.
   */
  private static void copyLeaves(Region region, int size, java.util.function.LongFunction<Block> blocks, int budget) {
    boolean copied = false;
    for (Block caller : new ArrayList<>(region.blocks)) {
      Instruction last = caller.instructions[caller.length() - 1];
      if (last.mnemonic != Mnemonic.CALL || caller.callsStandIn) {
        continue;
      }
      List<Block> leaf = leaf(blocks, successors(caller).get(0));
      if (leaf == null || leaf.stream().anyMatch(b -> region.ids.containsKey(b.pc))) {
        continue; // not a leaf, or the region holds it already
      }
      int extra = leaf.stream().mapToInt(Block::estimatedBytecode).sum();
      if (size + extra > budget) {
        continue;
      }
      for (Block b : leaf) {
        region.ids.put(b.pc, -1);
        region.blocks.add(new Block(b));
      }
      size += extra;
      copied = true;
    }
    if (copied) { // blocks are numbered in pc order
      region.blocks.sort(java.util.Comparator.comparingLong(b -> b.pc));
      for (int id = 0; id < region.blocks.size(); id++) {
        region.ids.put(region.blocks.get(id).pc, id);
      }
    }
  }

  /** The blocks of the leaf function at {@code start} ({@link #copyLeaves}), or null if it is none. */
  private static List<Block> leaf(java.util.function.LongFunction<Block> blocks, long start) {
    List<Block> leaf = new ArrayList<>();
    java.util.ArrayDeque<Long> next = new java.util.ArrayDeque<>(List.of(start));
    Set<Long> seen = new java.util.HashSet<>();
    boolean returns = false;
    while (!next.isEmpty()) {
      long pc = next.poll();
      Block b = blocks.apply(pc);
      if (!seen.add(pc) || b == null) {
        continue; // a jump out of the translated code leaves the region, as from anywhere
      }
      Instruction last = b.instructions[b.length() - 1];
      if (last.mnemonic == Mnemonic.CALL || leaf.size() == LEAF_BLOCKS) {
        return null;
      }
      returns |= last.mnemonic == Mnemonic.RET;
      leaf.add(b);
      next.addAll(targets(b));
    }
    return returns ? leaf : null;
  }

  private static long root(Map<Long, Long> parent, long pc) {
    long p = pc;
    while (parent.get(p) != p) {
      p = parent.get(p);
    }
    parent.put(pc, p);
    return p;
  }

  /** Where a block can go directly: its targets, where it falls through, and where a call it ends with returns. */
  private static List<Long> successors(Block b) {
    Instruction last = b.instructions[b.length() - 1];
    long end = b.end();
    if (!isBranch(last)) {
      return List.of(end);
    }
    switch (last.mnemonic) {
      case JCC:
      case CALL:
        return List.of(end + last.op0.imm, end);
      case JMP:
        return List.of(end + last.op0.imm);
      default:
        return List.of(); // ret: wherever the stack says
    }
  }

  /**
   * Where a block jumps or falls through to: not where a call it ends with returns (that is its ret's jump), unless a
   * hook stands in for the function called, which the region runs in place.
   */
  private static List<Long> targets(Block b) {
    List<Long> successors = successors(b);
    if (b.instructions[b.length() - 1].mnemonic != Mnemonic.CALL) {
      return successors;
    }
    return b.callsStandIn ? successors.subList(1, 2) : successors.subList(0, 1);
  }

  /** The block at {@code start}: up to and including its branch, or up to what cannot be in it; null if empty. */
  private static Block form(Code code, long start) {
    List<Instruction> instructions = new ArrayList<>();
    long pc = start;
    while (instructions.size() < MAX_INSTRUCTIONS) {
      if (code.hooked(pc)) { // never at a block's start either: the run loop runs a block without checking hooks
        break;
      }
      Instruction i;
      try {
        i = code.instruction(pc);
      } catch (MemoryAccessException | DecodeException e) {
        break; // the interpreter meets the fault there, with its own handling
      }
      if (isBranch(i)) {
        instructions.add(i);
        Block b = new Block(start, instructions);
        b.callsStandIn = i.mnemonic == Mnemonic.CALL && code.standsIn(pc + i.length + i.op0.imm);
        return b;
      }
      if (!inline(i)) {
        break;
      }
      instructions.add(i);
      pc += i.length;
    }
    return instructions.isEmpty() ? null : new Block(start, instructions);
  }

  private static boolean isBranch(Instruction i) {
    switch (i.mnemonic) {
      case JCC:
      case JMP:
      case CALL:
        return i.op0.kind == Operand.REL;
      case RET:
        return i.operandCount == 0;
      default:
        return false;
    }
  }

  private static boolean inline(Instruction i) {
    if ((i.prefixes & (Instruction.REP | Instruction.REPNE)) != 0 || !INLINE.contains(i.mnemonic)) {
      return false;
    }
    for (int k = 0; k < i.operandCount; k++) {
      byte kind = i.operand(k).kind;
      if (kind == Operand.SEGMENT || kind == Operand.CONTROL) {
        return false;
      }
    }
    return true;
  }

  // ---------------------------------------------------------------- source

  private static final String PACKAGE = BlockTranslator.class.getPackageName();
  private static final String THROWS =
      "throws MemoryAccessException, ArchitecturalFault, UnimplementedInstructionException";

  /** What a region's {@code block(pc)} returns for a pc where none of its blocks starts. */
  private static final int LEAVE = -1;

  private static String source(String name, Region region) {
    List<Block> blocks = region.blocks;
    int[][] successors = new int[blocks.size()][];
    for (int id = 0; id < blocks.size(); id++) {
      successors[id] = targets(blocks.get(id)).stream().map(region.ids::get).filter(java.util.Objects::nonNull)
          .mapToInt(Integer::intValue).toArray();
    }
    region.flow = new RegionControlFlow(blocks.size(), successors);
    long base = blocks.get(0).pc;
    long span = blocks.get(blocks.size() - 1).pc - base;
    StringBuilder b = new StringBuilder();
    b.append("package ").append(PACKAGE).append(";\n\n")
        .append("import io.hybridbridge.emulator.decode.Instruction;\n")
        .append("import io.hybridbridge.emulator.decode.MemoryRole;\n")
        .append("import io.hybridbridge.emulator.decode.Mnemonic;\n")
        .append("import io.hybridbridge.emulator.memory.MemoryAccessException;\n\n")
        .append("final class ").append(name).append(" extends BlockTranslator.BlockCode {\n")
        .append("  private static final int S = BlockTranslator.firstSite(java.lang.invoke.MethodHandles.lookup());\n\n")
        .append("  @Override\n  long run(int id, Executor x, long[] r, CpuState s, Instruction[][] in, long limit)")
        .append(' ').append(THROWS).append(" {\n")
        .append("    long n = 0;\n    long a, p, q, v;\n    boolean f;\n")
        .append("    Instruction[] i;\n")
        .append(region.flow.body(id -> {
          Block block = blocks.get(id);
          StringBuilder code = new StringBuilder("    // block ").append(id).append(" at ").append(hex(block.pc))
              .append("\n    x.regionDone = n;\n    i = in[").append(id).append("];\n");
          boolean ended = false;
          Instruction flags = null;
          for (int k = 0; k < block.length(); k++) {
            ended = instruction(code, block.instructions[k], k, block.pcs[k], region, id, flags);
            flags = flagSource(block.instructions[k], flags);
          }
          if (!ended) {
            code.append(count(block.length())).append(jump(block.end(), region, id));
          }
          return indent(code.toString(), "    ");
        }));
    b.append("  }\n\n")
        .append("  private static int block(long pc) {\n    long offset = pc - ").append(hex(base)).append(";\n")
        .append("    if (offset < 0 || offset > ").append(hex(span)).append(") {\n      return ").append(LEAVE)
        .append(";\n    }\n    switch ((int) offset) {\n");
    for (int id = 0; id < blocks.size(); id++) {
      b.append("      case ").append(blocks.get(id).pc - base).append(": return ").append(id).append(";\n");
    }
    b.append("      default: return ").append(LEAVE).append(";\n    }\n  }\n");
    return b.append("}\n").toString();
  }

  /** {@code lines}, each indented by {@code by} more. */
  private static String indent(String lines, String by) {
    return lines.replaceAll("(?m)^(?=.)", by);
  }

  /**
   * Counts a block's {@code instructions} as done in the region's run ({@code n}), at its end, after its last access
   * (a fault before it counts the instructions before the block, {@link Executor#regionDone}), before it goes on.
   */
  private static String count(int instructions) {
    return "    n += " + instructions + ";\n";
  }

  /** Sets RIP to {@code target} and goes there from block {@code from}: within the region, or out of it. */
  private static String jump(long target, Region region, int from) {
    Integer id = region.ids.get(target);
    return "    s.rip = " + hex(target) + ";\n" + (id == null ? "    return n;\n" : region.flow.jump(from, id));
  }

  /**
   * Appends the code of instruction {@code k} of block {@code id}; true if it is the block's branch, its last
   * instruction, whose code counts the block's instructions ({@link #count}, k + 1 of them) and goes on ({@link
   * #jump}).
   */
  private static boolean instruction(StringBuilder b, Instruction i, int k, long pc, Region region, int id,
      Instruction flags) {
    long next = pc + i.length;
    int size = i.operandSize;
    b.append("    // ").append(k).append(": ").append(i.text.replaceAll("[\\r\\n\\\\]", " ")).append('\n');
    if (!translated(i)) {
      b.append("    x.interpret(i[").append(k).append("], ").append(hex(pc)).append(", ").append(k).append(");\n");
      return false;
    }
    if (i.memory != null && i.memoryRole != MemoryRole.ADDRESS_ONLY) {
      b.append(region.site(new Site(pc, k, i.memoryIndex, i.memoryRole, Math.min(i.memory.size, 8))))
          .append("    a = ").append(address(i.memory, next, true)).append(";\n");
    }
    switch (i.mnemonic) {
      case MOV:
      case MOVZX:
        write(b, i.op0, read(i.op1));
        return false;
      case MOVSX:
      case MOVSXD:
        write(b, i.op0, "(" + signExtend(read(i.op1), i.op1.size) + " & " + mask(size) + ")");
        return false;
      case LEA:
        write(b, i.op0, "((" + address(i.memory, next, false) + ") & " + mask(size) + ")");
        return false;
      case ADD:
      case SUB:
      case AND:
      case OR:
      case XOR:
      case CMP:
      case TEST: {
        b.append("    p = ").append(read(i.op0)).append(";\n    q = ").append(read(i.op1)).append(";\n");
        switch (i.mnemonic) {
          case ADD: b.append("    v = p + q;\n").append(lazy("CC_ADD", "p", "q", size, "0")); break;
          case SUB: case CMP: b.append("    v = p - q;\n").append(lazy("CC_SUB", "p", "q", size, "0")); break;
          case AND: case TEST: b.append("    v = p & q;\n").append(lazy("CC_LOGIC", "0", "0", size, "0")); break;
          case OR: b.append("    v = p | q;\n").append(lazy("CC_LOGIC", "0", "0", size, "0")); break;
          default: b.append("    v = p ^ q;\n").append(lazy("CC_LOGIC", "0", "0", size, "0")); break;
        }
        if (i.mnemonic != Mnemonic.CMP && i.mnemonic != Mnemonic.TEST) {
          write(b, i.op0, "(v & " + mask(size) + ")");
        }
        return false;
      }
      case SHL:
      case SHR:
      case SAR:
        if (shiftsByImmediate(i)) { // the interpreter's definition (Executor.shiftOrRotate) with the count known
          int count = Executor.shiftCount(i.op1.imm, size);
          int top = 8 * size - 1;
          b.append("    p = ").append(read(i.op0)).append(";\n");
          switch (i.mnemonic) {
            case SHL:
              b.append("    q = ((p << ").append(count - 1).append(") >>> ").append(top).append(") & 1;\n")
                  .append("    v = (p << ").append(count).append(") & ").append(mask(size)).append(";\n")
                  .append(lazy("CC_RESULT", "0", "((v >>> " + top + ") ^ q)", size, "q"));
              break;
            case SHR:
              b.append("    q = (p >>> ").append(count - 1).append(") & 1;\n    v = p >>> ").append(count).append(";\n")
                  .append(lazy("CC_RESULT", "0", "(p >>> " + top + ")", size, "q"));
              break;
            default:
              b.append("    p = ").append(signExtend("p", size)).append(";\n    q = (p >> ").append(count - 1)
                  .append(") & 1;\n    v = (p >> ").append(count).append(") & ").append(mask(size)).append(";\n")
                  .append(lazy("CC_RESULT", "0", "0", size, "q"));
              break;
          }
          write(b, i.op0, "v");
          return false;
        }
        // fall through: a count in CL may be zero, which changes nothing
      case ROL:
      case ROR:
      case RCL:
      case RCR: // the interpreter's definition, flags included
        write(b, i.op0, "Executor.shiftOrRotate(Mnemonic." + i.mnemonic + ", " + read(i.op0) + ", " + read(i.op1)
            + ", " + size + ", s)");
        return false;
      case NOT:
        write(b, i.op0, "(~" + read(i.op0) + " & " + mask(size) + ")");
        return false;
      case BSWAP:
        write(b, i.op0, size == 8 ? "Long.reverseBytes(" + read(i.op0) + ")"
            : "(Integer.reverseBytes((int) " + read(i.op0) + ") & 0xffffffffL)");
        return false;
      case CBW:
      case CWDE:
      case CDQE: { // the accumulator's lower half, sign-extended into all of it: ax, eax, rax
        int wide = i.mnemonic == Mnemonic.CBW ? 2 : i.mnemonic == Mnemonic.CWDE ? 4 : 8;
        write(b, Operand.register(Reg.RAX, wide, false), "(" + signExtend(register(Operand.register(Reg.RAX,
            wide / 2, false)), wide / 2) + " & " + mask(wide) + ")");
        return false;
      }
      case INC:
      case DEC: {
        boolean inc = i.mnemonic == Mnemonic.INC;
        b.append("    q = ").append(carry(flags)).append(";\n") // the CF kept, before p and v are this one's
            .append("    p = ").append(read(i.op0)).append(";\n    v = p ").append(inc ? '+' : '-').append(" 1;\n")
            .append(lazy(inc ? "CC_INC" : "CC_DEC", "p", "1", size, "q"));
        write(b, i.op0, "(v & " + mask(size) + ")");
        return false;
      }
      case PUSH:
        b.append(stack(k, pc, MemoryRole.WRITE, region)).append("    v = ").append(read(i.op0))
            .append(";\n    a = r[").append(Reg.RSP).append("] - 8;\n").append(store(8, "v")).append("    r[")
            .append(Reg.RSP).append("] = a;\n");
        return false;
      case POP:
        b.append(stack(k, pc, MemoryRole.READ, region)).append("    a = r[").append(Reg.RSP).append("];\n    v = ")
            .append(load(8)).append(";\n    r[").append(Reg.RSP).append("] = a + 8;\n    r[").append(i.op0.reg)
            .append("] = v;\n");
        return false;
      case CMOVCC:
        b.append("    f = ").append(condition(i.condition, flags)).append(";\n")
            .append("    q = ").append(read(i.op1)).append(";\n    p = ").append(read(i.op0)).append(";\n")
            .append("    if (f) {\n      p = q;\n    }\n");
        write(b, i.op0, "p");
        return false;
      case SETCC:
        write(b, i.op0, "((" + condition(i.condition, flags) + ") ? 1L : 0L)");
        return false;
      case BT: // CF is the bit; the other flags stay, as the interpreter keeps them
        b.append("    v = (").append(read(i.op0)).append(" >>> (").append(read(i.op1)).append(" & ")
            .append(8 * size - 1).append(")) & 1;\n    s.setCarry(v);\n");
        return false;
      case CMPXCHG: // compared as cmp rax, [a]; the destination is written either way, as the interpreter does
        b.append("    p = ").append(register(Operand.register(Reg.RAX, size, false))).append(";\n    q = ")
            .append(load(size)).append(";\n    v = p - q;\n").append(lazy("CC_SUB", "p", "q", size, "0"))
            .append("    if (p == q) {\n").append(indent(store(size, read(i.op1)), "  "))
            .append("    } else {\n").append(indent(store(size, "q"), "  "));
        StringBuilder loaded = new StringBuilder();
        write(loaded, Operand.register(Reg.RAX, size, false), "q");
        b.append(indent(loaded.toString(), "  ")).append("    }\n");
        return false;
      case IMUL: { // two or three operands: the product's low half; CF = OF = whether it did not fit
        Operand x = i.operandCount == 3 ? i.op1 : i.op0;
        Operand y = i.operandCount == 3 ? i.op2 : i.op1;
        String fits = size == 8 ? "Math.multiplyHigh(p, q) == (v >> 63)" : "v == " + signExtend("v", size);
        b.append("    p = ").append(signExtend(read(x), size)).append(";\n    q = ").append(signExtend(read(y), size))
            .append(";\n    v = p * q;\n    p = ").append(fits).append(" ? 0L : 1L;\n    v &= ").append(mask(size))
            .append(";\n").append(lazy("CC_RESULT", "0", "p", size, "p"));
        write(b, i.op0, "v");
        return false;
      }
      case XADD: // the sum to [a], the old [a] to the source register
        b.append("    p = ").append(load(size)).append(";\n    q = ").append(read(i.op1))
            .append(";\n    v = p + q;\n").append(lazy("CC_ADD", "p", "q", size, "0"))
            .append(store(size, "v & " + mask(size)));
        write(b, i.op1, "p");
        return false;
      case NOP:
        return false;
      case JCC:
        b.append(count(k + 1)).append("    if (").append(condition(i.condition, flags)).append(") {\n")
            .append(indent(jump(next + i.op0.imm, region, id), "  "))
            .append("    } else {\n").append(indent(jump(next, region, id), "  ")).append("    }\n");
        return true;
      case JMP:
        b.append(count(k + 1)).append(jump(next + i.op0.imm, region, id));
        return true;
      case CALL:
        b.append(stack(k, pc, MemoryRole.WRITE, region)).append("    a = r[").append(Reg.RSP)
            .append("] - 8;\n    x.call(").append(access).append(", i, a, ")
            .append(hex(next)).append(");\n    r[").append(Reg.RSP).append("] = a;\n").append(count(k + 1));
        if (!region.blocks.get(id).callsStandIn) {
          b.append(jump(next + i.op0.imm, region, id));
          return true;
        }
        // The hook returns from the function in its place, as the run loop would run it there; it counts as one
        // instruction. A fault in it is the called pc's, after the block.
        b.append("    s.rip = ").append(hex(next + i.op0.imm)).append(";\n    x.standIn(s.rip, n);\n")
            .append(count(1)).append("    if (s.rip != ").append(hex(next)).append(") {\n")
            .append("      id = block(s.rip);\n      if (id < 0) {\n        return n;\n      }\n")
            .append("      continue D;\n    }\n").append(jump(next, region, id));
        return true;
      case RET:
        b.append(stack(k, pc, MemoryRole.READ, region)).append("    a = r[").append(Reg.RSP)
            .append("];\n    v = x.ret(").append(access).append(", i, a);\n    r[")
            .append(Reg.RSP).append("] = a + 8;\n").append(count(k + 1))
            .append("    s.rip = v;\n    id = block(v);\n    if (id < 0) {\n      return n;\n    }\n")
            .append("    continue D;\n"); // to the region's block there, if it has one
        return true;
      default:
        throw new IllegalStateException("no translation of " + i.mnemonic);
    }
  }

  /**
   * Sets the lazy flags as {@link CpuState#lazy} does, with the result in v, field by field in the region: the JIT
   * inlines nothing into a method as large as a region, and a call costs the values it must save around it.
   */
  private static String lazy(String op, String a, String b, int size, String carry) {
    return "    s.ccCarry = " + carry + ";\n    s.ccOp = CpuState." + op + ";\n    s.ccA = " + a + ";\n    s.ccB = " + b
        + ";\n    s.ccResult = v;\n    s.ccSize = " + size + ";\n";
  }

  /**
   * The translated instruction of the block whose flags are the current ones and whose operands and result p, q and
   * v still hold, after {@code i} ({@code before}: the one before it, or null): {@code i} if it sets them, the one
   * before if {@code i} leaves flags, p, q and v alone (a move, lea, setcc, ...: a compare, a load and a branch need
   * no call either), null otherwise.
   */
  private static Instruction flagSource(Instruction i, Instruction before) {
    if (!translated(i)) {
      return null; // the interpreter may set the flags
    }
    if (flagsOf(i) != null) {
      return i;
    }
    switch (i.mnemonic) {
      case MOV: case MOVZX: case MOVSX: case MOVSXD: case LEA: case NOT: case BSWAP: case CBW: case CWDE: case CDQE:
      case SETCC: case NOP:
        return before;
      default:
        return null; // shifts and imul set flags p, q and v do not give; push, pop and cmovcc overwrite p, q or v
    }
  }

  /**
   * Condition code {@code cc} (the SDM's numbering) of the flags: computed in the region when the flags are a
   * translated instruction's of the same block ({@code flags}: see {@link #flagSource}; p, q and v still hold its
   * operands and result, so the common compare-and-branch needs no call); otherwise evaluated from the lazy flags. The
   * lazy flags are set either way, for later readers.
   */
  private static String condition(int cc, Instruction flags) {
    String fused = fused(cc, flags);
    return fused != null ? fused : "s.condition(" + cc + ")";
  }

  /** CF as 0 or 1, for inc and dec, which keep it: see {@link #condition}; in place when the lazy flags keep it. */
  private static String carry(Instruction flags) {
    String fused = fused(2, flags);
    return fused != null ? "((" + fused + ") ? 1L : 0L)" : "(s.ccOp >= CpuState.CC_INC ? s.ccCarry : s.cf())";
  }

  /** Condition code {@code cc} computed from p, q and v after {@code flags} (see {@link #condition}), or null. */
  private static String fused(int cc, Instruction flags) {
    Flags f = flags == null ? null : flagsOf(flags);
    if (f == null) {
      return null;
    }
    String holds = switch (cc >> 1) { // the SDM's numbering: an odd cc is the even one's negation
      case 0 -> f.overflow;
      case 1 -> f.carry;
      case 2 -> f.zero;
      case 3 -> f.carry == null || f.zero == null ? null : f.carry + " || " + f.zero;
      case 4 -> f.sign;
      case 6 -> f.less;
      case 7 -> f.less == null || f.zero == null ? null : f.zero + " || " + f.less;
      default -> null; // parity
    };
    return holds == null || (cc & 1) == 0 ? holds : "!(" + holds + ")";
  }

  /** Flags as expressions of p, q and v (null: not computed in the region): CF, ZF, SF, OF, and SF != OF. */
  private record Flags(String carry, String zero, String sign, String overflow, String less) {}

  /** The flags {@code i} leaves, if its translation leaves p, q and v to compute them from; otherwise null. */
  private static Flags flagsOf(Instruction i) {
    if (!translated(i)) {
      return null;
    }
    int size = i.operandSize;
    String sign = "(v & " + hex(1L << (8 * size - 1)) + ") != 0";
    String zero = "(v & " + mask(size) + ") == 0"; // v before its mask
    switch (i.mnemonic) {
      case CMP:
      case SUB:
      case CMPXCHG: { // p and q are the operands (cmpxchg compares as cmp rax, [a]), zero-extended
        int shift = 64 - 8 * size; // the operand's sign bit to bit 63: a signed comparison of the operands
        return new Flags(size == 8 ? "Long.compareUnsigned(p, q) < 0" : "p < q", "p == q", sign, null,
            shift == 0 ? "p < q" : "(p << " + shift + ") < (q << " + shift + ")");
      }
      case ADD:
      case XADD: // p and q within the size: the carry is the sum's bit above it
        return new Flags(size == 8 ? "Long.compareUnsigned(v, p) < 0" : "(v >>> " + 8 * size + ") != 0", zero, sign,
            null, null);
      case AND:
      case TEST:
      case OR:
      case XOR: // CF = OF = 0
        return new Flags("false", "v == 0", sign, "false", sign);
      case INC:
      case DEC: { // CF is the one they kept, just stored
        long signBit = 1L << (8 * size - 1);
        String overflow = "(v & " + mask(size) + ") == " + hex(i.mnemonic == Mnemonic.INC ? signBit : signBit - 1);
        return new Flags("s.ccCarry != 0", zero, sign, overflow, "(" + sign + ") != (" + overflow + ")");
      }
      case BT: // v is the bit, now CF
        return new Flags("v != 0", null, null, null, null);
      default:
        return null;
    }
  }

  /** Whether {@code i} has a translation of its own (otherwise the block runs it through the interpreter). */
  static boolean translated(Instruction i) {
    for (int k = 0; k < i.operandCount; k++) {
      byte kind = i.operand(k).kind;
      if (kind != Operand.REG && kind != Operand.IMM && kind != Operand.MEM && kind != Operand.REL) {
        return false;
      }
    }
    switch (i.mnemonic) {
      case MOV: case MOVZX: case MOVSX: case MOVSXD: case LEA:
      case ADD: case SUB: case AND: case OR: case XOR: case CMP: case TEST:
      case INC: case DEC: case CMOVCC: case NOP: case NOT: case CBW: case CWDE: case CDQE:
      case SHL: case SHR: case SAR: case ROL: case ROR: case RCL: case RCR:
        return true;
      case BSWAP:
        return i.operandSize >= 4; // 16-bit bswap is undefined: the interpreter's choice stands
      case BT:
        return i.op0.kind == Operand.REG; // on memory, a register offset addresses a bit string
      case CMPXCHG:
      case XADD:
        return i.op0.kind == Operand.MEM; // the common locked forms (a register destination is rare)
      case IMUL:
        return i.operandCount >= 2; // one operand: rdx:rax, left to the interpreter
      case PUSH:
        return i.op0.kind == Operand.REG && i.op0.size == 8 || i.op0.kind == Operand.IMM;
      case POP:
        return i.op0.kind == Operand.REG && i.op0.size == 8;
      case SETCC:
        return i.op0.kind == Operand.REG;
      default:
        return isBranch(i);
    }
  }

  /** Makes instruction {@code k}'s 8-byte stack access the access site being generated (see {@link Region#site}). */
  private static String stack(int k, long pc, MemoryRole role, Region region) {
    return region.site(new Site(pc, k, MemoryAccess.STACK, role, 8));
  }

  /**
   * Reads {@code size} bytes at a for the access site being generated: one call, which takes the site's binding (or
   * routes it as the interpreter does), reads, and records the instruction's position for a fault. A single call per
   * access keeps a region's code small, and that made a warm ps inspection ≈ 10 % faster than the binding's lookup
   * written out in the region (session 20).
   */
  private static String load(int size) {
    if (accessed) { // every translated form reads its memory operand once, before any write of it
      throw new IllegalStateException("a second read of access site " + access);
    }
    accessed = true;
    return "x.read(" + access + ", i, a, " + size + ")";
  }

  /** Writes {@code value} to a for the access site being generated: after a read of it, to the space it read. */
  private static String store(int size, String value) {
    return accessed ? "    x.writeAgain(" + access + ", a, " + size + ", " + value + ");\n"
        : "    x.write(" + access + ", i, a, " + size + ", " + value + ");\n";
  }

  /** The value of an operand: registers and immediates as the interpreter reads them; memory at {@code a}. */
  private static String read(Operand o) {
    switch (o.kind) {
      case Operand.REG:
        return register(o);
      case Operand.IMM:
        return hex(o.imm & CpuState.mask(o.size));
      case Operand.MEM:
        return load(o.size);
      default:
        throw new IllegalStateException("operand " + o);
    }
  }

  private static String register(Operand o) {
    String r = "r[" + o.reg + "]";
    switch (o.size) {
      case 8: return r;
      case 4: return "(" + r + " & 0xffffffffL)";
      case 2: return "(" + r + " & 0xffffL)";
      default: return o.high8 ? "((" + r + " >>> 8) & 0xffL)" : "(" + r + " & 0xffL)";
    }
  }

  /** Writes {@code value} to a register (32-bit writes zero-extend, narrower ones merge) or to memory at a. */
  private static void write(StringBuilder b, Operand o, String value) {
    if (o.kind == Operand.MEM) {
      b.append(store(o.size, value));
      return;
    }
    String r = "r[" + o.reg + "]";
    b.append("    ").append(r).append(" = ");
    switch (o.size) {
      case 8: b.append(value); break;
      case 4: b.append(value).append(" & 0xffffffffL"); break;
      case 2: b.append("(").append(r).append(" & ~0xffffL) | (").append(value).append(" & 0xffffL)"); break;
      default:
        if (o.high8) {
          b.append("(").append(r).append(" & ~0xff00L) | ((").append(value).append(" & 0xffL) << 8)");
        } else {
          b.append("(").append(r).append(" & ~0xffL) | (").append(value).append(" & 0xffL)");
        }
    }
    b.append(";\n");
  }

  /** The effective address of a memory operand, as {@code Executor.effectiveAddress} (+ the segment base). */
  private static String address(Operand m, long next, boolean withSegment) {
    StringBuilder e = new StringBuilder();
    long constant = m.disp + (m.base == Reg.RIP ? next : 0);
    if (m.base >= 0 && m.base != Reg.RIP) {
      e.append("r[").append(m.base).append("] + ");
    }
    if (m.index >= 0) {
      e.append("r[").append(m.index).append("] * ").append(m.scale).append(" + ");
    }
    e.append(hex(constant));
    String address = m.address32 ? "((" + e + ") & 0xffffffffL)" : e.toString();
    if (withSegment && m.segment == Reg.GS) {
      return "s.gsBase + " + address;
    }
    if (withSegment && m.segment == Reg.FS) {
      return "s.fsBase + " + address;
    }
    return address;
  }

  private static String signExtend(String value, int size) {
    switch (size) {
      case 1: return "(long) (byte) " + value;
      case 2: return "(long) (short) " + value;
      case 4: return "(long) (int) " + value;
      default: return value;
    }
  }

  private static String mask(int size) {
    return hex(CpuState.mask(size));
  }

  private static String hex(long v) {
    return "0x" + Long.toHexString(v) + "L";
  }

  // ---------------------------------------------------------------- compilation

  private record Source(String name, String text, String key) {}

  private static Map<String, byte[]> compile(List<Source> sources) throws TranslationException {
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    if (javac == null) {
      throw new TranslationException("this Java runtime has no compiler (javax.tools): run on a JDK to translate "
          + "blocks", null);
    }
    DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
    Map<String, ByteArrayOutputStream> output = new TreeMap<>();
    StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, null);
    JavaFileManager inMemory = new ForwardingJavaFileManager<>(files) {
      @Override
      public JavaFileObject getJavaFileForOutput(Location location, String className, JavaFileObject.Kind kind,
          FileObject sibling) {
        return new SimpleJavaFileObject(URI.create("mem:///" + className.replace('.', '/') + kind.extension), kind) {
          @Override
          public OutputStream openOutputStream() {
            return output.computeIfAbsent(className, n -> new ByteArrayOutputStream());
          }
        };
      }
    };
    List<JavaFileObject> units = new ArrayList<>();
    for (Source s : sources) {
      units.add(new SimpleJavaFileObject(URI.create("mem:///" + PACKAGE.replace('.', '/') + "/" + s.name
          + JavaFileObject.Kind.SOURCE.extension), JavaFileObject.Kind.SOURCE) {
        @Override
        public CharSequence getCharContent(boolean ignoreEncodingErrors) {
          return s.text;
        }
      });
    }
    List<String> options = List.of("-classpath", classPath(), "-proc:none", "-g:none", "-nowarn",
        "-XDuseUnsharedTable=true");
    boolean ok = javac.getTask(null, inMemory, diagnostics, options, null, units).call(); // under define's lock
    if (!ok) {
      StringBuilder message = new StringBuilder("translated blocks do not compile (a translation bug):");
      int shown = 0;
      for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
        if (d.getKind() == Diagnostic.Kind.ERROR && shown++ < 3) {
          message.append("\n  ").append(d.getSource() == null ? "" : d.getSource().getName()).append(':')
              .append(d.getLineNumber()).append(": ").append(d.getMessage(null));
        }
      }
      throw new TranslationException(message.toString(), null);
    }
    Map<String, byte[]> classes = new TreeMap<>();
    output.forEach((name, bytes) -> classes.put(name, bytes.toByteArray()));
    return classes;
  }

  /** Writes the generated sources to the directory named by the system property {@value #DUMP}, if set. */
  private static void dump(List<Source> sources) {
    String dir = System.getProperty(DUMP);
    if (dir == null) {
      return;
    }
    try {
      java.nio.file.Path d = java.nio.file.Files.createDirectories(java.nio.file.Path.of(dir));
      for (Source s : sources) {
        java.nio.file.Files.writeString(d.resolve(s.name + ".java"), s.text);
      }
    } catch (java.io.IOException e) {
      System.err.println("translated blocks: cannot write their sources to " + dir + ": " + e.getMessage());
    }
  }

  /** System property: a directory to write the generated sources to (to read what a block became). */
  static final String DUMP = "hb.translation.dump";

  /**
   * The compiler's class path: this JVM's, and the places this package's classes were loaded from (under a framework
   * that loads the job's code itself, e.g. a Flink TaskManager, they are not on the JVM's class path).
   */
  private static String classPath() {
    Set<String> entries = new LinkedHashSet<>(List.of(System.getProperty("java.class.path", "").split(
        File.pathSeparator)));
    for (Class<?> c : List.of(BlockTranslator.class, MemoryAccessException.class, Instruction.class)) {
      try {
        var source = c.getProtectionDomain().getCodeSource();
        if (source != null && source.getLocation() != null) {
          entries.add(new File(source.getLocation().toURI()).getPath());
        }
      } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
        // not a file: the JVM's own class path is all there is
      }
    }
    entries.remove("");
    return String.join(File.pathSeparator, entries);
  }
}
