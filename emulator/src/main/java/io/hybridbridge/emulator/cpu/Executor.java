package io.hybridbridge.emulator.cpu;

import static io.hybridbridge.emulator.cpu.CpuState.AC;
import static io.hybridbridge.emulator.cpu.CpuState.AF;
import static io.hybridbridge.emulator.cpu.CpuState.CC_ADD;
import static io.hybridbridge.emulator.cpu.CpuState.CC_DEC;
import static io.hybridbridge.emulator.cpu.CpuState.CC_INC;
import static io.hybridbridge.emulator.cpu.CpuState.CC_LOGIC;
import static io.hybridbridge.emulator.cpu.CpuState.CC_RESULT;
import static io.hybridbridge.emulator.cpu.CpuState.CC_SUB;
import static io.hybridbridge.emulator.cpu.CpuState.CF;
import static io.hybridbridge.emulator.cpu.CpuState.DF;
import static io.hybridbridge.emulator.cpu.CpuState.IF;
import static io.hybridbridge.emulator.cpu.CpuState.OF;
import static io.hybridbridge.emulator.cpu.CpuState.PF;
import static io.hybridbridge.emulator.cpu.CpuState.RF;
import static io.hybridbridge.emulator.cpu.CpuState.SF;
import static io.hybridbridge.emulator.cpu.CpuState.WRITABLE_FLAGS;
import static io.hybridbridge.emulator.cpu.CpuState.ZF;
import static io.hybridbridge.emulator.cpu.CpuState.mask;
import static io.hybridbridge.emulator.cpu.CpuState.msb;
import static io.hybridbridge.emulator.cpu.CpuState.parity;
import static io.hybridbridge.emulator.decode.Reg.RAX;
import static io.hybridbridge.emulator.decode.Reg.RBP;
import static io.hybridbridge.emulator.decode.Reg.RBX;
import static io.hybridbridge.emulator.decode.Reg.RCX;
import static io.hybridbridge.emulator.decode.Reg.RDI;
import static io.hybridbridge.emulator.decode.Reg.RDX;
import static io.hybridbridge.emulator.decode.Reg.RSI;
import static io.hybridbridge.emulator.decode.Reg.RSP;

import io.hybridbridge.emulator.decode.Instruction;
import io.hybridbridge.emulator.decode.MemoryRole;
import io.hybridbridge.emulator.decode.Mnemonic;
import io.hybridbridge.emulator.decode.Operand;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import java.math.BigInteger;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * The instruction semantics: one definition of each instruction, over concrete values with a {@link Shadow}
 * riding along. Every value read goes through {@link #read} / {@link #readRegister} / {@link #load}, every
 * value written through {@link #write} / {@link #writeRegister} / {@link #store}, and every computation
 * reports its dataflow to the shadow domain; with {@link Shadow#NONE} those reports are empty calls.
 *
 * <p>Precise faults: an instruction makes all its memory reads, then its memory writes, then changes
 * registers, so a fault leaves the registers as they were before it (the run loop restores RIP).
 */
final class Executor {
  private static final MemoryRole READ = MemoryRole.READ;
  private static final MemoryRole WRITE = MemoryRole.WRITE;

  private final Cpu cpu;
  private final CpuState s;
  private final long[] r;
  Shadow shadow = Shadow.NONE;
  boolean tracking;
  AccessRouter router;
  AddressSpace[] spaces;

  private final MemoryAccess explicitAccess = new MemoryAccess();
  private final MemoryAccess implicitAccess = new MemoryAccess();
  private final Value a = new Value();
  private final Value b = new Value();
  private final Value c = new Value();
  private final Value d = new Value();

  private Instruction insn;
  /**
   * The pc of the instruction executing (or that last executed); a translated block sets it before an access that may
   * fault.
   */
  long pc;
  private long next;
  /** Linear address of the explicit memory operand (segment base included). */
  private long ea;
  private AddressSpace space;

  /** Iterations a rep-prefixed instruction may still make in this run (the rest of the budget). */
  long repAllowance;
  /** Set by instructions that end the run (sysretq, iretq to user mode, hlt, a spin that cannot end). */
  Stop.Reason stopRequest;
  /** {@code pause} instructions in this run; {@link #SPIN_LIMIT} of them end it. */
  long pauses;
  static final long SPIN_LIMIT = 1_000_000;

  Executor(Cpu cpu, CpuState state) {
    this.cpu = cpu;
    this.s = state;
    this.r = state.gpr;
  }

  /**
   * Executes {@code i} at {@code pc}.
   *
   * @return the steps it counts for: 1, or the iterations a rep-prefixed string instruction made (at least 1)
   */
  long execute(Instruction i, long pc)
      throws MemoryAccessException, ArchitecturalFault, UnimplementedInstructionException {
    this.insn = i;
    this.pc = pc;
    this.next = pc + i.length;
    s.rip = next;
    if (i.memory != null) {
      resolveMemoryOperand(i);
    }
    int size = i.operandSize;
    switch (i.mnemonic) {
      case MOV: mov(i); break;
      case MOVZX:
        read(i.op1, a);
        a.shadow = shadowExtend(a.shadow, i.op1.size, size, false);
        write(i.op0, a);
        break;
      case MOVSX:
      case MOVSXD:
        read(i.op1, a);
        a.bits = signExtend(a.bits, i.op1.size) & mask(size);
        a.shadow = shadowExtend(a.shadow, i.op1.size, size, true);
        write(i.op0, a);
        break;
      case LEA:
        a.bits = effectiveAddress(i.memory) & mask(size);
        a.shadow = explicitAccess.addressShadow;
        write(i.op0, a);
        break;
      case XCHG: xchg(i); break;
      case CMPXCHG: cmpxchg(i, size); break;
      case CMPXCHG8B:
      case CMPXCHG16B: cmpxchgDouble(i); break;
      case XADD: xadd(i, size); break;
      case BSWAP:
        read(i.op0, a);
        a.bits = size == 8 ? Long.reverseBytes(a.bits)
            : size == 4 ? Integer.reverseBytes((int) a.bits) & 0xffffffffL : 0; // 16-bit: undefined, zero
        a.shadow = shadowCombine(ShadowOp.BSWAP, size, a.shadow, 0);
        write(i.op0, a);
        break;
      case CBW: widenAccumulator(1, 2); break;
      case CWDE: widenAccumulator(2, 4); break;
      case CDQE: widenAccumulator(4, 8); break;
      case CWD: signIntoRdx(2); break;
      case CDQ: signIntoRdx(4); break;
      case CQO: signIntoRdx(8); break;
      case PUSH: push(i); break;
      case POP: pop(i); break;
      case PUSHFQ:
        a.set(s.rflags() & ~RF, shadowFromFlags(8));
        push(a, 8);
        break;
      case POPFQ:
        pop(a, 8);
        setRflagsFrom(a.bits);
        r[RSP] += 8;
        break;
      case LEAVE:
        loadImplicit(r[RBP], 8, MemoryAccess.STACK, a);
        r[RSP] = r[RBP] + 8;
        writeRegister(RBP, 8, a);
        break;
      case ENTER: enter(i); break;
      case LAHF:
        a.set(s.arithmeticFlags() & 0xd5 | 2, shadowFromFlags(1));
        writeRegister(RAX, 1, true, a);
        break;
      case SAHF:
        readRegister(RAX, 1, true, a);
        s.setArithmeticFlags((s.arithmeticFlags() & OF) | (a.bits & (SF | ZF | AF | PF | CF)));
        shadowSetFlags(a.shadow);
        break;

      case ADD: case ADC: case SUB: case SBB: case AND: case OR: case XOR:
        read(i.op0, a);
        read(i.op1, b);
        arithmetic(i.mnemonic, size, a, b);
        write(i.op0, a);
        break;
      case CMP:
        read(i.op0, a);
        read(i.op1, b);
        arithmetic(Mnemonic.SUB, size, a, b);
        break;
      case TEST:
        read(i.op0, a);
        read(i.op1, b);
        arithmetic(Mnemonic.AND, size, a, b);
        break;
      case NOT:
        read(i.op0, a);
        a.bits = ~a.bits & mask(size);
        a.shadow = shadowCombine(ShadowOp.NOT, size, a.shadow, 0);
        write(i.op0, a);
        break;
      case NEG:
        read(i.op0, a);
        s.lazy(CC_SUB, 0, a.bits, -a.bits, size, 0);
        a.bits = -a.bits & mask(size);
        a.shadow = shadowCombine(ShadowOp.NEG, size, a.shadow, 0);
        shadowSetFlags(a.shadow);
        write(i.op0, a);
        break;
      case INC:
      case DEC: {
        read(i.op0, a);
        boolean inc = i.mnemonic == Mnemonic.INC;
        long result = inc ? a.bits + 1 : a.bits - 1;
        s.lazy(inc ? CC_INC : CC_DEC, a.bits, 1, result, size, s.cf());
        a.bits = result & mask(size);
        a.shadow = shadowCombine(inc ? ShadowOp.ADD : ShadowOp.SUB, size, a.shadow, 0);
        shadowSetFlags(a.shadow);
        write(i.op0, a);
        break;
      }
      case SHL: case SHR: case SAR: case ROL: case ROR: case RCL: case RCR: shiftOrRotate(i, size); break;
      case SHLD: case SHRD: doubleShift(i, size); break;
      case MUL: case IMUL:
        if (i.operandCount == 1) {
          multiplyAccumulator(i, size);
        } else {
          multiplyTruncating(i, size);
        }
        break;
      case DIV: case IDIV: divide(i, size); break;
      case BT: case BTS: case BTR: case BTC: bitTest(i, size); break;
      case BSF: case BSR: case TZCNT: case LZCNT: case POPCNT: bitScan(i, size); break;

      case JCC:
        if (s.condition(i.condition)) {
          s.rip = next + i.op0.imm;
        }
        break;
      case SETCC:
        a.set(s.condition(i.condition) ? 1 : 0, shadowFromFlags(1));
        write(i.op0, a);
        break;
      case CMOVCC:
        read(i.op1, b);
        read(i.op0, a);
        if (s.condition(i.condition)) {
          a.bits = b.bits;
        }
        a.shadow = shadowCombine(ShadowOp.SELECT, size, a.shadow, b.shadow);
        write(i.op0, a); // also when false: a 32-bit destination is zero-extended either way
        break;
      case JMP:
        s.rip = branchTarget(i.op0);
        break;
      case CALL: {
        long target = branchTarget(i.op0);
        a.set(next, 0);
        push(a, 8);
        s.rip = target;
        break;
      }
      case RET:
        pop(a, 8);
        r[RSP] += 8 + (i.operandCount > 0 ? i.op0.imm & 0xffff : 0);
        s.rip = a.bits;
        break;
      case JRCXZ:
        if (r[RCX] == 0) {
          s.rip = next + i.op0.imm;
        }
        break;
      case LOOP: case LOOPE: case LOOPNE: {
        r[RCX]--;
        boolean go = r[RCX] != 0;
        if (i.mnemonic == Mnemonic.LOOPE) {
          go &= s.zf() != 0;
        } else if (i.mnemonic == Mnemonic.LOOPNE) {
          go &= s.zf() == 0;
        }
        if (go) {
          s.rip = next + i.op0.imm;
        }
        break;
      }

      case MOVS: case STOS: case LODS: case CMPS: case SCAS: return Math.max(1, string(i));

      case CLC: s.setCarry(0); break;
      case STC: s.setCarry(1); break;
      case CMC: s.setCarry(s.cf() ^ 1); break;
      case CLD: s.setFlag(DF, false); break;
      case STD: s.setFlag(DF, true); break;
      case CLI: privileged(); s.setFlag(IF, false); break;
      case STI: privileged(); s.setFlag(IF, true); break;
      case STAC: privileged(); s.setFlag(AC, true); break;
      case CLAC: privileged(); s.setFlag(AC, false); break;

      case PAUSE:
        // A spin-wait. Nothing else runs here (one CPU, no interrupts, a snapshot that never changes), so a wait that
        // goes on this long waits for something that cannot happen: e.g. a seqcount the snapshot caught odd.
        if (++pauses >= SPIN_LIMIT) {
          stopRequest = Stop.Reason.SPINNING;
        }
        break;
      case NOP: case LFENCE: case MFENCE: case SFENCE: case PREFETCH: case CLFLUSH:
      case FNCLEX: case FNINIT: case EMMS: case FWAIT:
        break;
      case WBINVD: privileged(); break;
      case FILD: read(i.op0, a); break; // the FPU keeps no state; the load still faults like the CPU's

      case SYSCALL: syscall(next); break;
      case SYSRET: sysret(i); break;
      case IRET: iret(i); break;
      case SWAPGS: {
        privileged();
        long t = s.gsBase;
        s.gsBase = s.kernelGsBase;
        s.kernelGsBase = t;
        break;
      }
      case RDMSR: rdmsr(); break;
      case WRMSR: wrmsr(); break;
      case CPUID: {
        int[] v = cpu.cpuid().query((int) r[RAX], (int) r[RCX]);
        putConstant(RAX, v[0] & 0xffffffffL);
        putConstant(RBX, v[1] & 0xffffffffL);
        putConstant(RCX, v[2] & 0xffffffffL);
        putConstant(RDX, v[3] & 0xffffffffL);
        break;
      }
      case RDTSC:
      case RDTSCP: {
        long tsc = cpu.clock().read(cpu);
        if (i.mnemonic == Mnemonic.RDTSCP) {
          putConstant(RCX, tscAux() & 0xffffffffL);
        }
        putConstant(RAX, tsc & 0xffffffffL);
        putConstant(RDX, tsc >>> 32);
        break;
      }
      case RDPID:
        a.set(tscAux(), 0);
        write(i.op0, a);
        break;
      case XGETBV:
        if ((int) r[RCX] != 0) {
          throw new ArchitecturalFault(Fault.GP, 0, "xgetbv of XCR" + (int) r[RCX]);
        }
        putConstant(RAX, s.xcr0 & 0xffffffffL);
        putConstant(RDX, s.xcr0 >>> 32);
        break;
      case HLT:
        privileged();
        stopRequest = Stop.Reason.HALTED;
        break;
      case INVLPG:
        privileged();
        for (AddressSpace m : spaces) {
          m.invalidate(effectiveAddress(i.memory) + segmentBase(i.memory));
        }
        break;
      case INT3: throw new ArchitecturalFault(Fault.BP, 0, "int3");
      case UD: throw new ArchitecturalFault(Fault.UD, 0, i.text);
      case VERW:
        read(i.op0, a);
        // Fixed model: every non-null selector names a writable data segment (the kernel uses verw only
        // for its buffer-clearing side effect and ignores ZF).
        s.setArithmeticFlags((s.arithmeticFlags() & ~ZF) | ((a.bits & 0xfffc) != 0 ? ZF : 0));
        break;
      case FXSAVE: fxsave(i); break;
      case FXRSTOR: fxrstor(i); break;
      default:
        throw new UnimplementedInstructionException(i.text);
    }
    return 1;
  }

  // ---------------------------------------------------------------- entry points of translated blocks
  // A translated block (BlockTranslator) runs its instructions' semantics inline and calls these for what must stay
  // the interpreter's: the routing of every data access (so routers and the access protocol are the same for both)
  // and whole instructions it does not translate. Each records which instruction of the block is executing, so a
  // fault stops at that instruction with the state before it.

  /** Instructions the running translated region has executed before the block that is executing. */
  long regionDone;
  /** The index, in the translated block that is executing, of the instruction that is executing. */
  int blockIndex;

  /** bindings[site]: the index of the space the router bound that access site of a translated block to, or -1. */
  int[] bindings = new int[0];

  /** Makes room for the access sites of translated blocks up to {@code sites} (their ids are below it). */
  void ensureSites(int sites) {
    if (sites > bindings.length) {
      int old = bindings.length;
      bindings = java.util.Arrays.copyOf(bindings, Math.max(sites, 2 * old));
      java.util.Arrays.fill(bindings, old, bindings.length, -1);
    }
  }

  /** The binding scope of the router ({@link AccessRouter#bindingScope}), or null. */
  private Object bindingScope;
  /** The bindings to the local space of scopes whose router was replaced, until a router of that scope comes back. */
  private final Map<Object, int[]> keptBindings = new WeakHashMap<>();
  /**
   * The bindings of routers without a scope: no site bound between two of them, so one array serves them all (a new
   * one at every change of router cost a fast inspection of a small tool as much as its instructions).
   */
  private int[] unscoped = new int[0];
  /** The sites bound since the router was set ({@link #bindings}' entries that are not -1 because of it). */
  private int[] boundSites = new int[64];
  private int boundSiteCount;

  /**
   * Routes through {@code next}: the bindings of the current router to the local space are kept for its scope, and
   * {@code next} starts from those of its own scope, or from none. Costs the sites the current router bound, not
   * every site there is.
   */
  void setRouter(AccessRouter next) {
    for (int k = 0; k < boundSiteCount; k++) { // its local bindings stay, if it has a scope to keep them in
      int site = boundSites[k];
      if (bindingScope == null || bindings[site] > 0) {
        bindings[site] = -1;
      }
    }
    boundSiteCount = 0;
    if (bindingScope != null) {
      keptBindings.put(bindingScope, bindings);
    } else {
      unscoped = bindings;
    }
    router = next;
    bindingScope = next == null ? null : next.bindingScope();
    int[] kept = bindingScope == null ? null : keptBindings.remove(bindingScope);
    int sites = bindings.length;
    bindings = kept != null ? kept : bindingScope == null ? unscoped : new int[0];
    ensureSites(sites);
  }

  /** Forgets every binding, of every scope (the spaces changed). */
  void unbind() {
    keptBindings.clear();
    boundSiteCount = 0;
    java.util.Arrays.fill(bindings, -1);
  }

  /**
   * The space of an access of a translated block whose site is not bound ({@link #bound} looks its binding up
   * first): the router's decision, then bound if the router binds it.
   */
  private AddressSpace routeSite(MemoryAccess x, Instruction i, long address, int size, int operand, MemoryRole role,
      int site) {
    this.insn = i;
    AddressSpace space = route(x, address, size, operand, role, 0);
    if (router != null && (bindings[site] = router.bind(x)) >= 0) {
      if (boundSiteCount == boundSites.length) {
        boundSites = java.util.Arrays.copyOf(boundSites, 2 * boundSiteCount);
      }
      boundSites[boundSiteCount++] = site;
    }
    return space;
  }

  /** The space of the last access of a translated block (the write of a read-modify-write goes there too). */
  private AddressSpace accessed;

  /**
   * Reads {@code size} bytes at {@code a} for access site {@code site} of a translated block ({@code block}: its
   * instructions): from the space the site is bound to; or as the interpreter routes it. A fault records the
   * instruction's position ({@link #pc}, {@link #blockIndex}) for the run loop.
   */
  long read(int site, Instruction[] block, long a, int size) throws MemoryAccessException {
    try {
      AddressSpace space = bound(site);
      return (space != null ? space : unboundSpace(site, block, a)).read(a, size);
    } catch (MemoryAccessException e) {
      throw faultAt(site, e);
    }
  }

  /** Writes for access site {@code site} of a translated block, as {@link #read} reads. */
  void write(int site, Instruction[] block, long a, int size, long value) throws MemoryAccessException {
    try {
      AddressSpace space = bound(site);
      (space != null ? space : unboundSpace(site, block, a)).write(a, size, value);
    } catch (MemoryAccessException e) {
      throw faultAt(site, e);
    }
  }

  /** Writes for the access site that was just read (a read-modify-write), to the space it was read from. */
  void writeAgain(int site, long a, int size, long value) throws MemoryAccessException {
    try {
      accessed.write(a, size, value);
    } catch (MemoryAccessException e) {
      throw faultAt(site, e);
    }
  }

  /** A translated call pushes {@code next} at {@code a}; a bound site tells the router, which follows calls. */
  void call(int site, Instruction[] block, long a, long next) throws MemoryAccessException {
    try {
      AddressSpace space = bound(site);
      if (space != null) {
        router.called(next, a);
      } else {
        space = unboundSpace(site, block, a);
      }
      space.write(a, 8, next);
    } catch (MemoryAccessException e) {
      throw faultAt(site, e);
    }
  }

  /** A translated return pops its address at {@code a}; a bound site tells the router. */
  long ret(int site, Instruction[] block, long a) throws MemoryAccessException {
    try {
      AddressSpace space = bound(site);
      if (space != null) {
        router.returned(a);
      } else {
        space = unboundSpace(site, block, a);
      }
      return space.read(a, 8);
    } catch (MemoryAccessException e) {
      throw faultAt(site, e);
    }
  }

  /**
   * The space access site {@code site} is bound to; null: the site is not bound, {@link #unboundSpace} routes
   * it. Two methods, each access asking this one first: with the routing in it, the JIT compiled it too large to
   * inline into the accesses, a second call for each (2–10 % of a warm fast ps inspection).
   */
  private AddressSpace bound(int site) {
    int b = bindings[site];
    if (b < 0) {
      return null;
    }
    return accessed = spaces[b];
  }

  /** The space of access site {@code site} at {@code a}, as the interpreter routes it (bound if the router binds). */
  private AddressSpace unboundSpace(int site, Instruction[] block, long a) {
    BlockTranslator.Site where = positionAt(site);
    Instruction i = block[where.index()];
    return accessed = routeSite(where.operand() == MemoryAccess.STACK ? implicitAccess : explicitAccess, i, a,
        where.size(), where.operand(), where.role(), site);
  }

  private MemoryAccessException faultAt(int site, MemoryAccessException e) {
    positionAt(site);
    return e;
  }

  /** Records the position of access site {@code site}'s instruction ({@link #pc}, {@link #blockIndex}); returns it. */
  private BlockTranslator.Site positionAt(int site) {
    BlockTranslator.Site where = BlockTranslator.site(site);
    pc = where.pc();
    blockIndex = where.index();
    return where;
  }

  /**
   * Runs the hook at {@code pc} that stands in for the function a translated block called, after the region's {@code
   * done} instructions: a fault in it is the called pc's, as when the run loop runs the hook.
   */
  void standIn(long pc, long done) throws MemoryAccessException {
    this.pc = pc;
    regionDone = done;
    blockIndex = 0;
    cpu.standIn(pc);
    standIns++;
  }

  /** Hooks the running region ran in place of functions: counted in its instructions, but none was retired. */
  int standIns;

  /** Executes {@code i} with the interpreter, in the middle of a translated block. */
  void interpret(Instruction i, long pc, int index)
      throws MemoryAccessException, ArchitecturalFault, UnimplementedInstructionException {
    blockIndex = index;
    execute(i, pc);
  }

  // ---------------------------------------------------------------- operands

  private void resolveMemoryOperand(Instruction i) throws UnimplementedInstructionException {
    Operand m = i.memory;
    long addressShadow = tracking ? addressShadow(m) : 0;
    explicitAccess.addressShadow = addressShadow;
    if (i.memoryRole == MemoryRole.ADDRESS_ONLY) {
      return;
    }
    long address = effectiveAddress(m);
    switch (i.mnemonic) {
      case POP:
        if (m.base == RSP) {
          address += m.size; // the address of pop [rsp+x] uses RSP after the pop
        }
        break;
      case BT: case BTS: case BTR: case BTC:
        if (i.op1.kind == Operand.REG) {
          // bt with a register offset on memory addresses a bit string: the offset selects the word.
          long offset = signExtend(register(i.op1.reg, i.op1.size, false), i.op1.size);
          address += (offset >> Long.numberOfTrailingZeros(8 * m.size)) * m.size;
        }
        break;
      default:
        break;
    }
    ea = address + segmentBase(m);
    int size = m.size > 8 ? 8 : m.size;
    space = route(explicitAccess, ea, size, i.memoryIndex, i.memoryRole, addressShadow);
  }

  private long effectiveAddress(Operand m) {
    long address = m.disp;
    if (m.base >= 0) {
      address += m.base == Reg.RIP ? next : r[m.base];
    }
    if (m.index >= 0) {
      address += r[m.index] * m.scale;
    }
    return m.address32 ? address & 0xffffffffL : address;
  }

  private long segmentBase(Operand m) {
    return m.segment == Reg.GS ? s.gsBase : m.segment == Reg.FS ? s.fsBase : 0;
  }

  private long addressShadow(Operand m) {
    long base = m.base >= 0 && m.base != Reg.RIP ? shadowRegister(m.base, 0, 8) : 0;
    long index = m.index >= 0 ? shadowRegister(m.index, 0, 8) : 0;
    return shadowCombine(ShadowOp.ADDRESS, 8, base, index);
  }

  private AddressSpace route(MemoryAccess x, long address, int size, int operand, MemoryRole role,
      long addressShadow) {
    if (router == null && !tracking) {
      return spaces[0]; // the fast path: nobody looks at the access
    }
    x.pc = pc;
    x.instruction = insn;
    x.operand = operand;
    x.address = address;
    x.size = size;
    x.role = role;
    x.addressShadow = addressShadow;
    int index = router == null ? 0 : router.route(x);
    x.space = index;
    return spaces[index];
  }

  /** Reads an explicit operand into {@code v}. */
  private void read(Operand o, Value v) throws MemoryAccessException, UnimplementedInstructionException {
    switch (o.kind) {
      case Operand.REG:
        readRegister(o.reg, o.size, o.high8, v);
        return;
      case Operand.IMM:
        v.set(o.imm & mask(o.size), 0);
        return;
      case Operand.MEM:
        v.bits = space.read(ea, o.size);
        v.shadow = shadowLoad(explicitAccess);
        return;
      case Operand.SEGMENT:
        v.set(s.selectors[o.reg], 0);
        return;
      default:
        throw new UnimplementedInstructionException(insn.text + " (operand " + o + ")");
    }
  }

  /** Writes {@code v} to an explicit operand (register writes of size 4 zero-extend). */
  private void write(Operand o, Value v) throws MemoryAccessException, UnimplementedInstructionException {
    switch (o.kind) {
      case Operand.REG:
        writeRegister(o.reg, o.size, o.high8, v);
        return;
      case Operand.MEM:
        space.write(ea, o.size, v.bits);
        shadowStore(explicitAccess, v.shadow);
        return;
      default:
        throw new UnimplementedInstructionException(insn.text + " (operand " + o + ")");
    }
  }

  private long register(int reg, int size, boolean high8) {
    long v = r[reg];
    switch (size) {
      case 8: return v;
      case 4: return v & 0xffffffffL;
      case 2: return v & 0xffffL;
      default: return high8 ? (v >>> 8) & 0xff : v & 0xff;
    }
  }

  private void readRegister(int reg, int size, boolean high8, Value v) {
    v.bits = register(reg, size, high8);
    v.shadow = shadowRegister(reg, high8 ? 1 : 0, size);
  }

  private void readRegister(int reg, int size, Value v) {
    readRegister(reg, size, false, v);
  }

  private void writeRegister(int reg, int size, boolean high8, Value v) {
    long value = v.bits;
    switch (size) {
      case 8: r[reg] = value; break;
      case 4: r[reg] = value & 0xffffffffL; break;
      case 2: r[reg] = (r[reg] & ~0xffffL) | (value & 0xffffL); break;
      default:
        if (high8) {
          r[reg] = (r[reg] & ~0xff00L) | ((value & 0xff) << 8);
        } else {
          r[reg] = (r[reg] & ~0xffL) | (value & 0xff);
        }
    }
    shadowSetRegister(reg, high8 ? 1 : 0, size, v.shadow);
  }

  private void writeRegister(int reg, int size, Value v) {
    writeRegister(reg, size, false, v);
  }

  /** A register loaded with a value from the CPU model (cpuid, rdtsc, rdmsr): no shadow. */
  private void putConstant(int reg, long value) {
    writeRegister(reg, 8, d.set(value, 0));
  }

  /** Reads memory not named by an explicit operand (stack, string, system areas). */
  private void loadImplicit(long address, int size, int operand, Value v) throws MemoryAccessException {
    AddressSpace m = isString(operand) ? routeString(address, size, operand, READ)
        : route(implicitAccess, address, size, operand, READ, 0);
    v.bits = m.read(address, size);
    v.shadow = shadowLoad(implicitAccess);
  }

  private void storeImplicit(long address, int size, int operand, Value v) throws MemoryAccessException {
    AddressSpace m = isString(operand) ? routeString(address, size, operand, WRITE)
        : route(implicitAccess, address, size, operand, WRITE, 0);
    m.write(address, size, v.bits);
    shadowStore(implicitAccess, v.shadow);
  }

  private static boolean isString(int operand) {
    return operand == MemoryAccess.STRING_SOURCE || operand == MemoryAccess.STRING_DESTINATION;
  }

  /** Pushes {@code v}: memory first, then RSP, so a faulting push changes nothing. */
  private void push(Value v, int size) throws MemoryAccessException {
    long address = r[RSP] - size;
    storeImplicit(address, size, MemoryAccess.STACK, v);
    r[RSP] = address;
  }

  /** Reads the top of the stack; the caller moves RSP once nothing can fault any more. */
  private void pop(Value v, int size) throws MemoryAccessException {
    loadImplicit(r[RSP], size, MemoryAccess.STACK, v);
  }

  private long branchTarget(Operand o) throws MemoryAccessException, UnimplementedInstructionException {
    if (o.kind == Operand.REL) {
      return next + o.imm;
    }
    read(o, b);
    return b.bits;
  }

  private void privileged() throws ArchitecturalFault {
    if (s.cpl != 0) {
      throw new ArchitecturalFault(Fault.GP, 0, insn.text + " at CPL " + s.cpl);
    }
  }

  // ---------------------------------------------------------------- data movement

  private void mov(Instruction i) throws MemoryAccessException, UnimplementedInstructionException,
      ArchitecturalFault {
    if (i.op0.kind == Operand.CONTROL) {
      privileged();
      readRegister(i.op1.reg, 8, a);
      cpu.writeControlRegister(i.op0.reg, a.bits);
      return;
    }
    if (i.op1.kind == Operand.CONTROL) {
      privileged();
      a.set(s.cr(i.op1.reg), 0);
      writeRegister(i.op0.reg, 8, a);
      return;
    }
    if (i.op0.kind == Operand.SEGMENT) {
      if (i.op0.reg == Reg.FS || i.op0.reg == Reg.GS || i.op0.reg == Reg.CS) {
        throw new UnimplementedInstructionException(i.text + " (loading a segment with a base)");
      }
      read(i.op1, a);
      s.selectors[i.op0.reg] = (int) a.bits & 0xffff;
      return;
    }
    read(i.op1, a);
    write(i.op0, a);
  }

  private void xchg(Instruction i) throws MemoryAccessException, UnimplementedInstructionException {
    read(i.op0, a);
    read(i.op1, b);
    if (i.op1.kind == Operand.MEM) {
      write(i.op1, a);
      write(i.op0, b);
    } else {
      write(i.op0, b);
      write(i.op1, a);
    }
  }

  private void cmpxchg(Instruction i, int size) throws MemoryAccessException, UnimplementedInstructionException {
    read(i.op0, a); // destination
    readRegister(RAX, size, c); // accumulator
    read(i.op1, b); // source
    long accumulator = c.bits;
    long destination = a.bits;
    s.lazy(CC_SUB, accumulator, destination, accumulator - destination, size, 0);
    long flagsShadow = shadowCombine(ShadowOp.SUB, size, c.shadow, a.shadow);
    shadowSetFlags(flagsShadow);
    if (accumulator == destination) {
      write(i.op0, b);
    } else {
      write(i.op0, a); // the destination is written back with its own value, as the CPU does
      writeRegister(RAX, size, a);
    }
  }

  /** cmpxchg8b / cmpxchg16b: compare rdx:rax with memory, store rcx:rbx if equal, else load. Only ZF. */
  private void cmpxchgDouble(Instruction i) throws MemoryAccessException, ArchitecturalFault,
      UnimplementedInstructionException {
    int half = i.mnemonic == Mnemonic.CMPXCHG16B ? 8 : 4;
    if (i.memory == null) {
      throw new ArchitecturalFault(Fault.UD, 0, i.text + " with a register operand");
    }
    if (half == 8 && (ea & 15) != 0) {
      throw new ArchitecturalFault(Fault.GP, 0, "cmpxchg16b on unaligned address 0x" + Long.toHexString(ea));
    }
    loadHalf(ea, half, a);
    loadHalf(ea + half, half, b);
    readRegister(RAX, half, c);
    readRegister(RDX, half, d);
    boolean equal = a.bits == c.bits && b.bits == d.bits;
    long flags = s.arithmeticFlags() & ~ZF;
    shadowSetFlags(shadowCombine(ShadowOp.SUB, half, shadowCombine(ShadowOp.OR, half, a.shadow, b.shadow),
        shadowCombine(ShadowOp.OR, half, c.shadow, d.shadow)));
    if (equal) {
      readRegister(RBX, half, c);
      readRegister(RCX, half, d);
      storeHalf(ea, half, c, d);
      s.setArithmeticFlags(flags | ZF);
    } else {
      storeHalf(ea, half, a, b); // written back unchanged, as the locked CPU does
      writeRegister(RAX, half, a);
      writeRegister(RDX, half, b);
      s.setArithmeticFlags(flags);
    }
  }

  private void loadHalf(long address, int size, Value v) throws MemoryAccessException {
    explicitAccess.address = address;
    explicitAccess.size = size;
    v.bits = space.read(address, size);
    v.shadow = shadowLoad(explicitAccess);
  }

  /** Stores low then high half, having checked both are writable (one write of the whole). */
  private void storeHalf(long address, int half, Value low, Value high) throws MemoryAccessException {
    byte[] bytes = new byte[2 * half];
    for (int k = 0; k < half; k++) {
      bytes[k] = (byte) (low.bits >>> (8 * k));
      bytes[half + k] = (byte) (high.bits >>> (8 * k));
    }
    space.write(address, bytes, 0, bytes.length);
    explicitAccess.address = address;
    explicitAccess.size = half;
    shadowStore(explicitAccess, low.shadow);
    explicitAccess.address = address + half;
    shadowStore(explicitAccess, high.shadow);
  }

  private void xadd(Instruction i, int size) throws MemoryAccessException, UnimplementedInstructionException {
    read(i.op0, a);
    read(i.op1, b);
    c.set(a.bits, a.shadow); // the old destination goes to the source register
    arithmetic(Mnemonic.ADD, size, a, b);
    if (i.op0.kind == Operand.MEM) {
      write(i.op0, a);
      write(i.op1, c);
    } else {
      write(i.op1, c);
      write(i.op0, a); // xadd r, r on one register leaves the sum
    }
  }

  private void widenAccumulator(int from, int to) {
    readRegister(RAX, from, a);
    a.bits = signExtend(a.bits, from) & mask(to);
    a.shadow = shadowExtend(a.shadow, from, to, true);
    writeRegister(RAX, to, a);
  }

  /** cwd/cdq/cqo: RDX (of the size) becomes the sign of RAX. */
  private void signIntoRdx(int size) {
    readRegister(RAX, size, a);
    long sign = msb(a.bits, size) != 0 ? mask(size) : 0;
    a.set(sign, shadowExtend(shadowSlice(a.shadow, size - 1, 1), 1, size, true));
    writeRegister(RDX, size, a);
  }

  private void push(Instruction i) throws MemoryAccessException, UnimplementedInstructionException {
    if (i.op0.kind == Operand.SEGMENT) {
      throw new UnimplementedInstructionException(i.text);
    }
    read(i.op0, a);
    push(a, i.op0.kind == Operand.IMM ? 8 : i.op0.size);
  }

  private void pop(Instruction i) throws MemoryAccessException, UnimplementedInstructionException {
    if (i.op0.kind == Operand.SEGMENT) {
      throw new UnimplementedInstructionException(i.text);
    }
    int size = i.op0.size;
    pop(a, size);
    if (i.op0.kind == Operand.MEM) {
      write(i.op0, a);
      r[RSP] += size;
    } else {
      r[RSP] += size;
      write(i.op0, a); // pop rsp: the popped value wins
    }
  }

  private void enter(Instruction i) throws MemoryAccessException, UnimplementedInstructionException {
    long frame = i.op0.imm & 0xffff;
    int level = (int) (i.op1.imm & 31);
    if (level > 1) {
      throw new UnimplementedInstructionException(i.text + " (nesting level > 1)");
    }
    long rsp = r[RSP];
    readRegister(RBP, 8, a);
    storeImplicit(rsp - 8, 8, MemoryAccess.STACK, a);
    long frameTemp = rsp - 8;
    if (level == 1) {
      a.set(frameTemp, shadowRegister(RSP, 0, 8));
      storeImplicit(rsp - 16, 8, MemoryAccess.STACK, a);
      rsp -= 8;
    }
    r[RSP] = rsp - 8 - frame;
    writeRegister(RBP, 8, a.set(frameTemp, shadowRegister(RSP, 0, 8)));
  }

  private void setRflagsFrom(long value) {
    long old = s.rflags();
    s.setRflags((old & ~WRITABLE_FLAGS) | (value & WRITABLE_FLAGS));
    shadowSetFlags(a.shadow);
  }

  // ---------------------------------------------------------------- arithmetic

  /** add, adc, sub, sbb, and, or, xor (cmp = sub, test = and, not written back): result in {@code x}. */
  private void arithmetic(Mnemonic m, int size, Value x, Value y) {
    long p = x.bits;
    long q = y.bits;
    long result;
    ShadowOp op;
    long carry = 0;
    switch (m) {
      case ADD: result = p + q; s.lazy(CC_ADD, p, q, result, size, 0); op = ShadowOp.ADD; break;
      case ADC:
        carry = s.cf();
        result = p + q + carry;
        s.lazy(CC_ADD, p, q, result, size, carry);
        op = ShadowOp.ADD;
        break;
      case SUB: result = p - q; s.lazy(CC_SUB, p, q, result, size, 0); op = ShadowOp.SUB; break;
      case SBB:
        carry = s.cf();
        result = p - q - carry;
        s.lazy(CC_SUB, p, q, result, size, carry);
        op = ShadowOp.SUB;
        break;
      case AND: result = p & q; s.lazy(CC_LOGIC, 0, 0, result, size, 0); op = ShadowOp.AND; break;
      case OR: result = p | q; s.lazy(CC_LOGIC, 0, 0, result, size, 0); op = ShadowOp.OR; break;
      default: result = p ^ q; s.lazy(CC_LOGIC, 0, 0, result, size, 0); op = ShadowOp.XOR; break;
    }
    long sh;
    if (insn.zeroIdiom) {
      sh = 0; // xor r,r / sub r,r: the result does not depend on r
    } else {
      sh = shadowCombine(op, size, x.shadow, y.shadow);
      if (m == Mnemonic.ADC || m == Mnemonic.SBB) {
        sh = shadowCombine(op, size, sh, shadowFromFlags(size));
      }
    }
    x.bits = result & mask(size);
    x.shadow = sh;
    shadowSetFlags(sh);
  }

  private static long flagBits(long cf, long result, int size, long af, long of) {
    return cf | (parity(result) << 2) | (af << 4) | ((result & mask(size)) == 0 ? ZF : 0)
        | (msb(result, size) << 7) | (of << 11);
  }

  private void shiftOrRotate(Instruction i, int size) throws MemoryAccessException,
      UnimplementedInstructionException {
    read(i.op0, a);
    read(i.op1, b);
    int count = shiftCount(b.bits, size);
    a.bits = shiftOrRotate(i.mnemonic, a.bits, b.bits, size, s);
    ShadowOp op = i.mnemonic == Mnemonic.SHL ? ShadowOp.SHIFT_LEFT
        : i.mnemonic == Mnemonic.SHR || i.mnemonic == Mnemonic.SAR ? ShadowOp.SHIFT_RIGHT : ShadowOp.ROTATE;
    a.shadow = shadowCombine(op, size, a.shadow, b.shadow);
    if (count != 0) {
      shadowSetFlags(a.shadow);
    }
    write(i.op0, a);
  }

  /**
   * Shift or rotate {@code op} (shl, shr, sar, rol, ror, rcl, rcr) of {@code x}, an operand of {@code size} bytes, by
   * the count operand {@code countOperand} (masked here as the CPU masks it): the result, with the flags set as the
   * instruction sets them (none when the masked count is 0). The interpreter uses it, and so do translated blocks, but
   * for shifts by an immediate count, which they compute in place from this definition.
   */
  static long shiftOrRotate(Mnemonic op, long x, long countOperand, int size, CpuState s) {
    int bits = 8 * size;
    int count = shiftCount(countOperand, size);
    if (count == 0) {
      return x; // neither the operand nor the flags change
    }
    long m = mask(size);
    long result;
    switch (op) { // shifts replace every arithmetic flag: the old ones are not evaluated (from a translated block's
                  // lazy flags, that would cost more than the shift)
      case SHL: {
        result = (x << count) & m;
        long cf = msb(x << (count - 1), size);
        s.lazy(CC_RESULT, 0, msb(result, size) ^ cf, result, size, cf);
        return result;
      }
      case SHR: {
        result = x >>> count;
        long cf = (x >>> (count - 1)) & 1;
        s.lazy(CC_RESULT, 0, msb(x, size), result, size, cf);
        return result;
      }
      case SAR: {
        long sx = signExtend(x, size);
        result = (sx >> count) & m;
        long cf = (sx >> (count - 1)) & 1;
        s.lazy(CC_RESULT, 0, 0, result, size, cf);
        return result;
      }
      default:
        break;
    }
    long flags = s.arithmeticFlags(); // rotates keep all but CF and OF
    switch (op) {
      case ROL: {
        int n = count & (bits - 1);
        result = ((x << n) | (x >>> (bits - n))) & m;
        long cf = result & 1;
        flags = (flags & ~(CF | OF)) | cf | ((msb(result, size) ^ cf) << 11);
        break;
      }
      case ROR: {
        int n = count & (bits - 1);
        result = ((x >>> n) | (x << (bits - n))) & m;
        long cf = msb(result, size);
        flags = (flags & ~(CF | OF)) | cf | ((cf ^ ((result >>> (bits - 2)) & 1)) << 11);
        break;
      }
      default: { // RCL, RCR: rotate through the carry, a (bits+1)-bit rotation
        int n = size >= 4 ? count : count % (bits + 1);
        if (n == 0) {
          return x;
        }
        long cf = flags & CF;
        long newCf;
        if (op == Mnemonic.RCL) {
          long hi = n == 1 ? 0 : x >>> (bits - n + 1);
          result = ((x << n) | (cf << (n - 1)) | hi) & m;
          newCf = (x >>> (bits - n)) & 1;
          flags = (flags & ~(CF | OF)) | newCf | ((msb(result, size) ^ newCf) << 11);
        } else {
          long lo = n == 1 ? 0 : x << (bits - n + 1);
          result = ((x >>> n) | (cf << (bits - n)) | lo) & m;
          newCf = (x >>> (n - 1)) & 1;
          flags = (flags & ~(CF | OF)) | newCf | ((msb(result, size) ^ ((result >>> (bits - 2)) & 1)) << 11);
        }
        break;
      }
    }
    s.setArithmeticFlags(flags);
    return result;
  }

  /** The count a shift or rotate of a {@code size}-byte operand uses: its count operand, masked as the CPU does. */
  static int shiftCount(long countOperand, int size) {
    return (int) (countOperand & (size == 8 ? 63 : 31));
  }

  private void doubleShift(Instruction i, int size) throws MemoryAccessException,
      UnimplementedInstructionException {
    read(i.op0, a);
    read(i.op1, b);
    read(i.op2, c);
    int bits = 8 * size;
    int count = shiftCount(c.bits, size);
    long x = a.bits;
    long y = b.bits;
    long m = mask(size);
    if (count != 0) {
      long result;
      long cf;
      if (size == 2) {
        // A 16-bit count above 16 is undefined; like the hardware (and QEMU), shift the 48-bit x:y:x.
        long wide = (x << 32) | (y << 16) | x;
        if (i.mnemonic == Mnemonic.SHLD) {
          result = ((wide << count) >>> 32) & m;
          cf = (wide >>> (48 - count)) & 1;
        } else {
          result = (wide >>> count) & m;
          cf = (wide >>> (count - 1)) & 1;
        }
      } else if (i.mnemonic == Mnemonic.SHLD) {
        result = ((x << count) | (y >>> (bits - count))) & m;
        cf = (x >>> (bits - count)) & 1;
      } else {
        result = ((x >>> count) | (y << (bits - count))) & m;
        cf = (x >>> (count - 1)) & 1;
      }
      s.setArithmeticFlags(flagBits(cf, result, size, 0, msb(result ^ x, size)));
      a.bits = result;
    }
    a.shadow = shadowCombine(ShadowOp.CONCAT, size, a.shadow, b.shadow);
    write(i.op0, a);
  }

  /** One-operand mul/imul: rdx:rax (or ax) = accumulator * source. */
  private void multiplyAccumulator(Instruction i, int size) throws MemoryAccessException,
      UnimplementedInstructionException {
    boolean signed = i.mnemonic == Mnemonic.IMUL;
    read(i.op0, b);
    readRegister(RAX, size, a);
    long x = a.bits;
    long y = b.bits;
    long low;
    long high;
    boolean overflow;
    if (size == 8) {
      low = x * y;
      high = signed ? Math.multiplyHigh(x, y) : Math.multiplyHigh(x, y) + ((x >> 63) & y) + ((y >> 63) & x);
      overflow = signed ? high != (low >> 63) : high != 0;
    } else {
      int bits = 8 * size;
      long product = signed ? signExtend(x, size) * signExtend(y, size) : x * y;
      low = product & mask(size);
      high = (product >> bits) & mask(size);
      overflow = signed ? product != signExtend(low, size) : high != 0;
    }
    long sh = shadowCombine(ShadowOp.MUL, size, a.shadow, b.shadow);
    setMultiplyFlags(low, size, overflow);
    shadowSetFlags(sh);
    if (size == 1) {
      writeRegister(RAX, 2, c.set(high << 8 | low, shadowExtend(sh, 1, 2, false)));
    } else {
      writeRegister(RAX, size, c.set(low, sh));
      writeRegister(RDX, size, d.set(high, sh));
    }
  }

  /** Two- and three-operand imul: the product truncated to the operand size. */
  private void multiplyTruncating(Instruction i, int size) throws MemoryAccessException,
      UnimplementedInstructionException {
    if (i.operandCount == 3) {
      read(i.op1, a);
      read(i.op2, b);
    } else {
      read(i.op0, a);
      read(i.op1, b);
    }
    long x = signExtend(a.bits, size);
    long y = signExtend(b.bits, size);
    long low = (x * y) & mask(size);
    boolean overflow = size == 8 ? Math.multiplyHigh(x, y) != ((x * y) >> 63) : x * y != signExtend(low, size);
    setMultiplyFlags(low, size, overflow);
    a.shadow = shadowCombine(ShadowOp.MUL, size, a.shadow, b.shadow);
    a.bits = low;
    shadowSetFlags(a.shadow);
    write(i.op0, a);
  }

  private void setMultiplyFlags(long low, int size, boolean overflow) {
    // CF = OF = overflow; SF, ZF, PF are undefined: computed from the low result (as QEMU does).
    long o = overflow ? 1 : 0;
    s.lazy(CC_RESULT, 0, o, low, size, o);
  }

  private void divide(Instruction i, int size) throws MemoryAccessException, ArchitecturalFault,
      UnimplementedInstructionException {
    boolean signed = i.mnemonic == Mnemonic.IDIV;
    read(i.op0, b);
    if (b.bits == 0) {
      throw new ArchitecturalFault(Fault.DE, 0, "division by zero");
    }
    readRegister(RAX, size == 1 ? 2 : size, a);
    if (size > 1) {
      readRegister(RDX, size, c);
    } else {
      c.set(0, 0);
    }
    long quotient;
    long remainder;
    if (size == 8) {
      long[] qr = signed ? divide128Signed(c.bits, a.bits, b.bits) : divide128(c.bits, a.bits, b.bits);
      if (qr == null) {
        throw new ArchitecturalFault(Fault.DE, 0, "quotient overflow");
      }
      quotient = qr[0];
      remainder = qr[1];
    } else {
      int bits = 8 * size;
      long dividend = size == 1 ? a.bits : (c.bits << bits) | a.bits;
      if (signed) {
        long n = signExtend(dividend, 2 * size);
        long dv = signExtend(b.bits, size);
        quotient = n / dv;
        remainder = n % dv;
        if (quotient != signExtend(quotient & mask(size), size)) {
          throw new ArchitecturalFault(Fault.DE, 0, "quotient overflow");
        }
      } else {
        quotient = Long.divideUnsigned(dividend, b.bits);
        remainder = Long.remainderUnsigned(dividend, b.bits);
        if ((quotient & ~mask(size)) != 0) {
          throw new ArchitecturalFault(Fault.DE, 0, "quotient overflow");
        }
      }
    }
    long sh = shadowCombine(ShadowOp.DIV, size,
        shadowCombine(ShadowOp.CONCAT, size, a.shadow, c.shadow), b.shadow);
    quotient &= mask(size);
    remainder &= mask(size);
    if (size == 1) {
      writeRegister(RAX, 2, d.set(remainder << 8 | quotient, shadowExtend(sh, 1, 2, false)));
    } else {
      writeRegister(RAX, size, d.set(quotient, sh));
      writeRegister(RDX, size, d.set(remainder, sh));
    }
    // Flags are undefined after div/idiv; they are left as they were.
  }

  private static final BigInteger TWO_64 = BigInteger.ONE.shiftLeft(64);

  private static long[] divide128(long high, long low, long divisor) {
    if (high == 0) {
      return new long[] {Long.divideUnsigned(low, divisor), Long.remainderUnsigned(low, divisor)};
    }
    if (Long.compareUnsigned(high, divisor) >= 0) {
      return null;
    }
    BigInteger n = unsigned(high).shiftLeft(64).or(unsigned(low));
    BigInteger[] qr = n.divideAndRemainder(unsigned(divisor));
    return new long[] {qr[0].longValue(), qr[1].longValue()};
  }

  private static long[] divide128Signed(long high, long low, long divisor) {
    if (high == (low >> 63)) {
      if (low == Long.MIN_VALUE && divisor == -1) {
        return null;
      }
      return new long[] {low / divisor, low % divisor};
    }
    BigInteger n = BigInteger.valueOf(high).shiftLeft(64).or(unsigned(low));
    BigInteger[] qr = n.divideAndRemainder(BigInteger.valueOf(divisor));
    if (qr[0].bitLength() > 63) {
      return null;
    }
    return new long[] {qr[0].longValue(), qr[1].longValue()};
  }

  private static BigInteger unsigned(long v) {
    BigInteger b = BigInteger.valueOf(v);
    return v < 0 ? b.add(TWO_64) : b;
  }

  private void bitTest(Instruction i, int size) throws MemoryAccessException, UnimplementedInstructionException {
    read(i.op0, a);
    read(i.op1, b);
    int bit = (int) (b.bits & (8 * size - 1));
    long cf = (a.bits >>> bit) & 1;
    // CF is the bit; OF, SF, AF, PF are undefined and ZF unchanged: keep them all.
    s.setCarry(cf);
    shadowSetFlags(shadowCombine(ShadowOp.BIT_SCAN, size, a.shadow, b.shadow));
    if (i.mnemonic == Mnemonic.BT) {
      return;
    }
    long m = 1L << bit;
    a.bits = i.mnemonic == Mnemonic.BTS ? a.bits | m : i.mnemonic == Mnemonic.BTR ? a.bits & ~m : a.bits ^ m;
    a.shadow = shadowCombine(ShadowOp.OR, size, a.shadow, b.shadow);
    write(i.op0, a);
  }

  private void bitScan(Instruction i, int size) throws MemoryAccessException, UnimplementedInstructionException {
    read(i.op1, b);
    read(i.op0, a);
    long src = b.bits;
    int bits = 8 * size;
    long flags;
    long result;
    boolean keepDestination = false;
    switch (i.mnemonic) {
      case BSF:
      case BSR:
        keepDestination = src == 0;
        // Destination unchanged (but written, so a 32-bit one is zero-extended) when the source is zero;
        // only ZF is defined: the others follow the source like QEMU's.
        result = src == 0 ? a.bits
            : i.mnemonic == Mnemonic.BSF ? Long.numberOfTrailingZeros(src) : 63 - Long.numberOfLeadingZeros(src);
        flags = flagBits(0, src, size, 0, 0);
        break;
      case TZCNT:
        result = src == 0 ? bits : Long.numberOfTrailingZeros(src);
        flags = flagBits(src == 0 ? 1 : 0, result, size, 0, 0);
        break;
      case LZCNT:
        result = src == 0 ? bits : Long.numberOfLeadingZeros(src) - (64 - bits);
        flags = flagBits(src == 0 ? 1 : 0, result, size, 0, 0);
        break;
      default: // POPCNT
        result = Long.bitCount(src);
        flags = src == 0 ? ZF : 0;
        break;
    }
    s.setArithmeticFlags(flags);
    long sh = shadowCombine(ShadowOp.BIT_SCAN, size, b.shadow, 0);
    shadowSetFlags(sh);
    a.set(result, keepDestination ? a.shadow : sh);
    write(i.op0, a);
  }

  static long signExtend(long v, int size) {
    int shift = 64 - 8 * size;
    return (v << shift) >> shift;
  }

  // ---------------------------------------------------------------- strings

  /** Runs a string instruction; returns the iterations made. */
  private long string(Instruction i) throws MemoryAccessException {
    int size = i.operandSize;
    long delta = s.flag(DF) ? -size : size;
    boolean rep = (i.prefixes & (Instruction.REP | Instruction.REPNE)) != 0;
    repeating = rep; // set afresh by every string instruction: a rep that faulted mid-way leaves nothing behind
    repBindings[0] = -1;
    repBindings[1] = -1;
    if (!rep) {
      stringStep(i.mnemonic, size, delta);
      return 1;
    }
    boolean compares = i.mnemonic == Mnemonic.CMPS || i.mnemonic == Mnemonic.SCAS;
    boolean untilEqual = (i.prefixes & Instruction.REPNE) != 0;
    long n = 0;
    while (r[RCX] != 0) {
      if (n == repAllowance) {
        s.rip = pc; // budget spent mid-way: resume this instruction on the next run
        break;
      }
      if (i.mnemonic == Mnemonic.STOS && !tracking && repBindings[1] >= 0) {
        n += storeRepeated(size, delta, repAllowance - n);
        continue;
      }
      stringStep(i.mnemonic, size, delta);
      r[RCX]--;
      n++;
      if (compares && (s.zf() != 0) == untilEqual) {
        break;
      }
    }
    return n;
  }

  /**
   * The rest of a rep stos whose destination the router bound, with no value domain, at most {@code allowance}
   * iterations: {@link #stringStep}'s stores without its per-iteration routing and operands (the fast path's memsets
   * of T's memory, ≈ 85 k iterations per ps inspection). RCX, RDI and the count are kept after each store, so a fault
   * stops at its iteration as before. Returns the iterations made.
   */
  private long storeRepeated(int size, long delta, long allowance) throws MemoryAccessException {
    int bound = repBindings[1];
    AddressSpace space = spaces[bound];
    long value = register(RAX, size, false); // what stringStep's readRegister reads
    long n = 0;
    while (r[RCX] != 0 && n < allowance) {
      space.write(r[RDI], size, value);
      r[RDI] += delta;
      r[RCX]--;
      n++;
    }
    return n;
  }

  /** Whether a rep-prefixed string instruction is iterating (its accesses may be bound: {@link #routeString}). */
  private boolean repeating;
  /** The spaces the router bound the source [0] and destination [1] of the iterating string instruction to, or -1. */
  private final int[] repBindings = new int[2];

  /** The space of a string access: the binding of this rep's operand, or the router's decision (then bound). */
  private AddressSpace routeString(long address, int size, int operand, MemoryRole role) {
    int k = operand == MemoryAccess.STRING_SOURCE ? 0 : 1;
    int bound = repBindings[k];
    if (bound >= 0) {
      return spaces[bound];
    }
    AddressSpace space = route(implicitAccess, address, size, operand, role, 0);
    if (repeating && router != null && !tracking) {
      repBindings[k] = router.bind(implicitAccess);
    }
    return space;
  }

  private void stringStep(Mnemonic m, int size, long delta) throws MemoryAccessException {
    switch (m) {
      case MOVS:
        loadImplicit(r[RSI], size, MemoryAccess.STRING_SOURCE, a);
        storeImplicit(r[RDI], size, MemoryAccess.STRING_DESTINATION, a);
        r[RSI] += delta;
        r[RDI] += delta;
        break;
      case STOS:
        readRegister(RAX, size, a);
        storeImplicit(r[RDI], size, MemoryAccess.STRING_DESTINATION, a);
        r[RDI] += delta;
        break;
      case LODS:
        loadImplicit(r[RSI], size, MemoryAccess.STRING_SOURCE, a);
        writeRegister(RAX, size, a);
        r[RSI] += delta;
        break;
      case CMPS:
        loadImplicit(r[RSI], size, MemoryAccess.STRING_SOURCE, a);
        loadImplicit(r[RDI], size, MemoryAccess.STRING_DESTINATION, b);
        arithmetic(Mnemonic.SUB, size, a, b);
        r[RSI] += delta;
        r[RDI] += delta;
        break;
      default: // SCAS
        loadImplicit(r[RDI], size, MemoryAccess.STRING_DESTINATION, b);
        readRegister(RAX, size, a);
        arithmetic(Mnemonic.SUB, size, a, b);
        r[RDI] += delta;
        break;
    }
  }

  // ---------------------------------------------------------------- system

  /**
   * What the syscall instruction does, returning to {@code returnRip}: RCX = return address, R11 = RFLAGS,
   * RFLAGS masked by FMASK, CS/SS from STAR, CPL 0, RIP = LSTAR.
   */
  void syscall(long returnRip) throws ArchitecturalFault {
    Long lstar = s.msr(Msr.LSTAR);
    if (lstar == null) {
      throw new ArchitecturalFault(Fault.UD, 0, "syscall without LSTAR in the MSR model");
    }
    Long fmask = s.msr(Msr.FMASK);
    Long star = s.msr(Msr.STAR);
    long flags = s.rflags() & ~RF;
    putConstant(RCX, returnRip);
    writeRegister(Reg.R11, 8, d.set(flags, shadowFromFlags(8)));
    s.setRflags(flags & ~(fmask == null ? 0 : fmask));
    int cs = star == null ? 0 : (int) (star >>> 32) & 0xfffc;
    s.selectors[Reg.CS] = cs;
    s.selectors[Reg.SS] = cs + 8;
    s.cpl = 0;
    s.rip = lstar;
  }

  private long tscAux() {
    Long v = s.msr(Msr.TSC_AUX);
    return v == null ? 0 : v & 0xffffffffL;
  }

  private void rdmsr() throws ArchitecturalFault {
    privileged();
    int index = (int) r[RCX];
    Long v = s.msr(index);
    if (v == null) {
      throw new ArchitecturalFault(Fault.GP, 0, "rdmsr of MSR 0x%x, not in the model".formatted(index));
    }
    putConstant(RAX, v & 0xffffffffL);
    putConstant(RDX, v >>> 32);
  }

  private void wrmsr() throws ArchitecturalFault {
    privileged();
    int index = (int) r[RCX];
    if (s.msr(index) == null) {
      throw new ArchitecturalFault(Fault.GP, 0, "wrmsr of MSR 0x%x, not in the model".formatted(index));
    }
    s.setMsr(index, (r[RDX] << 32) | (r[RAX] & 0xffffffffL));
  }

  private void sysret(Instruction i) throws ArchitecturalFault, UnimplementedInstructionException {
    if (!i.rexW) {
      throw new UnimplementedInstructionException(i.text + " (return to 32-bit mode)");
    }
    privileged();
    Long star = s.msr(Msr.STAR);
    int base = star == null ? 0 : (int) (star >>> 48) & 0xffff;
    s.rip = r[RCX];
    s.setRflags((r[Reg.R11] & 0x3C7FD7L) | 2);
    s.selectors[Reg.CS] = (base + 16) | 3;
    s.selectors[Reg.SS] = (base + 8) | 3;
    s.cpl = 3;
    stopRequest = Stop.Reason.USER_RETURN;
  }

  private void iret(Instruction i) throws MemoryAccessException, ArchitecturalFault {
    long sp = r[RSP];
    loadImplicit(sp, 8, MemoryAccess.SYSTEM, a);
    long rip = a.bits;
    loadImplicit(sp + 8, 8, MemoryAccess.SYSTEM, a);
    int cs = (int) a.bits & 0xffff;
    loadImplicit(sp + 16, 8, MemoryAccess.SYSTEM, a);
    long flags = a.bits;
    loadImplicit(sp + 24, 8, MemoryAccess.SYSTEM, a);
    long rsp = a.bits;
    loadImplicit(sp + 32, 8, MemoryAccess.SYSTEM, a);
    int ss = (int) a.bits & 0xffff;
    int newCpl = cs & 3;
    if (newCpl < s.cpl) {
      throw new ArchitecturalFault(Fault.GP, cs, "iretq to a more privileged level");
    }
    s.rip = rip;
    s.selectors[Reg.CS] = cs;
    s.selectors[Reg.SS] = ss;
    s.setRflags((s.rflags() & ~WRITABLE_FLAGS) | (flags & WRITABLE_FLAGS));
    r[RSP] = rsp;
    s.cpl = newCpl;
    if (newCpl == 3) {
      stopRequest = Stop.Reason.USER_RETURN;
    }
  }

  /** The default FXSAVE image of a stateless FPU: FCW 0x37f, MXCSR 0x1f80, MXCSR_MASK 0xffff, rest zero. */
  private static final long[] FXSAVE_IMAGE = new long[64];

  static {
    FXSAVE_IMAGE[0] = 0x037fL;
    FXSAVE_IMAGE[3] = 0x1f80L | (0xffffL << 32);
  }

  private void fxsave(Instruction i) throws MemoryAccessException, ArchitecturalFault {
    if ((ea & 15) != 0) {
      throw new ArchitecturalFault(Fault.GP, 0, "fxsave to unaligned address 0x" + Long.toHexString(ea));
    }
    byte[] image = new byte[512];
    for (int k = 0; k < 64; k++) {
      for (int j = 0; j < 8; j++) {
        image[8 * k + j] = (byte) (FXSAVE_IMAGE[k] >>> (8 * j));
      }
    }
    space.write(ea, image, 0, image.length);
    for (int k = 0; k < 64; k++) {
      explicitAccess.address = ea + 8L * k;
      explicitAccess.size = 8;
      shadowStore(explicitAccess, 0);
    }
  }

  private void fxrstor(Instruction i) throws MemoryAccessException, ArchitecturalFault {
    if ((ea & 15) != 0) {
      throw new ArchitecturalFault(Fault.GP, 0, "fxrstor from unaligned address 0x" + Long.toHexString(ea));
    }
    byte[] image = new byte[512];
    space.read(ea, image, 0, image.length);
    long mxcsr = (image[24] & 0xffL) | (image[25] & 0xffL) << 8 | (image[26] & 0xffL) << 16
        | (image[27] & 0xffL) << 24;
    if ((mxcsr & ~0xffffL) != 0) {
      throw new ArchitecturalFault(Fault.GP, 0, "fxrstor with reserved MXCSR bits 0x" + Long.toHexString(mxcsr));
    }
    // The FPU keeps no state: the image is checked and dropped.
  }

  // ---------------------------------------------------------------- the value domain
  // Every dataflow report goes through these: without a domain (Shadow.NONE, the fast path) each is one
  // field test, so the concrete semantics run without a call into the domain (JIT-visible, whatever the call site's
  // type profile; both paths run in one JVM).

  private long shadowRegister(int reg, int offset, int size) {
    return tracking ? shadow.register(reg, offset, size) : 0;
  }

  private void shadowSetRegister(int reg, int offset, int size, long value) {
    if (tracking) {
      shadow.setRegister(reg, offset, size, value);
    }
  }

  private long shadowLoad(MemoryAccess access) {
    return tracking ? shadow.load(access) : 0;
  }

  private void shadowStore(MemoryAccess access, long value) {
    if (tracking) {
      shadow.store(access, value);
    }
  }

  private long shadowCombine(ShadowOp op, int size, long x, long y) {
    return tracking ? shadow.combine(op, size, x, y) : 0;
  }

  private long shadowExtend(long value, int fromSize, int toSize, boolean signed) {
    return tracking ? shadow.extend(value, fromSize, toSize, signed) : 0;
  }

  private long shadowSlice(long value, int offset, int size) {
    return tracking ? shadow.slice(value, offset, size) : 0;
  }

  private void shadowSetFlags(long value) {
    if (tracking) {
      shadow.setFlags(value);
    }
  }

  private long shadowFromFlags(int size) {
    return tracking ? shadow.fromFlags(size) : 0;
  }
}
