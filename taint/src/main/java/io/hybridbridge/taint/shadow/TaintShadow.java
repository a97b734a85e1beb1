package io.hybridbridge.taint.shadow;

import io.hybridbridge.emulator.cpu.MemoryAccess;
import io.hybridbridge.emulator.cpu.Shadow;
import io.hybridbridge.emulator.cpu.ShadowOp;
import java.util.function.LongSupplier;

/**
 * The slow path's value domain (DESIGN §5.3), riding along the CPU's single executor through {@link Shadow}. A shadow
 * holds two things:
 *
 * <ul>
 *   <li><b>Byte taint</b> (bits 0..7, {@link #BYTES}): byte i of the value was derived from the untrusted snapshot U.
 *       Bitwise ops keep byte positions, additions carry upward, products and bit scans mix all bytes, shifts spread
 *       in their direction; 4-byte register writes zero-extend (upper bytes clean); zero idioms ({@code xor r,r},
 *       {@code sub r,r}) come out clean (the decoder marks them and the executor skips {@link #combine}); a value
 *       computed from tainted flags (setcc, adc's carry) is tainted; control dependencies are ignored.
 *   <li><b>U pointer</b> ({@link #POINTER}): the value is, or was computed from, a kernel pointer read from U (an
 *       8-byte load from U returning a kernel-half value). It survives moves, spills to T memory (per aligned qword),
 *       adding offsets, masking and shifting ({@code page_to_pfn}/{@code pfn_to_virt} arithmetic), and is dropped by a
 *       pointer difference, multiplication, narrowing or a 32-bit write.
 *   <li><b>Region base</b> ({@link #REGION_BASE}): the value is exactly one of T's layout globals
 *       ({@code page_offset_base}, {@code vmemmap_base}, {@code vmalloc_base}) as just loaded. Adding U-derived data
 *       to it makes a U pointer: {@code __va(phys)} and {@code pfn_to_page(pfn)} of a physical address or pfn read
 *       from U (page-table entries are physical addresses, positive, so no 8-byte-kernel-half rule can see them).
 *       Measured: /proc/&lt;pid&gt;/cmdline walks U's page tables with {@code __va(pgd_val & mask)}; without this the
 *       walk read T's pages at U's physical addresses and the command lines came back as NULs.
 *   <li><b>Per-CPU base</b> ({@link #PER_CPU_BASE}): the value is one of T's per-CPU bases as just loaded ({@code
 *       __per_cpu_offset[cpu]}, {@code this_cpu_off}). Adding U-derived data to it makes a <b>U per-CPU address</b>
 *       ({@link #PER_CPU_POINTER}): {@code per_cpu_ptr(p, cpu)} of a {@code __percpu} pointer {@code p} read from U, an
 *       offset from the per-CPU base that is served at U's base plus the same offset, wherever T's base plus it lands.
 *       Measured: 6.12 rt's /proc/&lt;pid&gt;/status sums the mm's per-CPU rss counters ({@code
 *       __percpu_counter_sum}), allocated in a chunk beyond the first, in vmalloc space; T's base plus U's offset lay
 *       in no region of T and the read faulted. Kept in registers (a spill keeps the byte taint only).
 * </ul>
 *
 * Why both: an address is redirected when its <em>pointer</em> came from U, not whenever some byte of it depends on U.
 * Measured on 6.1's vsnprintf: {@code put_dec_trunc8} advances its output pointer by {@code r < 10 ? 1 : 2}, so a
 * T buffer pointer ends up byte-tainted by a U number; redirecting on byte taint sent the rest of /proc/modules'
 * text to U's copy and the tool read blanks. Per-CPU addresses (a T per-CPU base plus an offset read from U, which
 * is not a pointer) are decided by the per-CPU base bit; byte taint says which output bytes came from U.
 *
 * <p>U is implicitly all-tainted: a load served by a non-local address space is fully byte-tainted, and a U pointer
 * when it is an 8-byte kernel-half value (the value comes from {@code loadedValue}, the redirected space's last
 * read) — except what the inspection itself wrote into U's copy-on-write overlay, which reads back with the shadow
 * it was written with. Measured: {@code proc_reg_open} links T's {@code pde_opener} into U's {@code
 * pde->pde_openers}; {@code proc_reg_release} reads that T pointer back from U and must find T's object, not
 * redirect through it. T's memory has a shadow ({@link ShadowMemory}).
 */
public final class TaintShadow implements Shadow {
  /** One shadow bit per byte of an 8-byte value. */
  public static final long BYTES = 0xff;
  /** The value is (derived from) a kernel pointer read from U. */
  public static final long POINTER = 0x100;
  /** The value is one of T's region bases, as loaded. */
  public static final long REGION_BASE = 0x200;
  /** The value is one of T's per-CPU bases, as loaded. */
  public static final long PER_CPU_BASE = 0x400;
  /** The value is T's per-CPU base plus U-derived data: the address of a U per-CPU object. */
  public static final long PER_CPU_POINTER = 0x800;
  /** What a full register write keeps. */
  private static final long KEPT = BYTES | POINTER | REGION_BASE | PER_CPU_BASE | PER_CPU_POINTER;
  /** The provenance bits an offset added to a value keeps. */
  private static final long POINTERS = POINTER | PER_CPU_POINTER;

  private final long[] registers = new long[17];
  private final ShadowMemory memory = new ShadowMemory();
  /** U bytes the inspection wrote clean (byte bits) and aligned qwords it wrote whole (slot bits). */
  private final ShadowMemory writtenClean = new ShadowMemory();
  /** Of the qwords written whole into U, those written with a U pointer (slot bits). */
  private final ShadowMemory writtenPointers = new ShadowMemory();
  private final LongSupplier loadedValue;
  private final long[] regionBases;
  private final long[] perCpuBases;
  private long flags;

  /**
   * @param loadedValue the value the redirected address space returned by its last 8-byte read
   * @param regionBaseVariables runtime addresses of T's layout globals ({@code page_offset_base}, ...)
   * @param perCpuBaseVariables runtime addresses of the 8-byte variables that hold T's per-CPU bases
   *     ({@code __per_cpu_offset[cpu]}, each CPU's {@code this_cpu_off})
   */
  public TaintShadow(LongSupplier loadedValue, long[] regionBaseVariables, long[] perCpuBaseVariables) {
    this.loadedValue = loadedValue;
    this.regionBases = regionBaseVariables.clone();
    this.perCpuBases = perCpuBaseVariables.clone();
  }

  /** A domain that knows no per-CPU base variables. */
  public TaintShadow(LongSupplier loadedValue, long... regionBaseVariables) {
    this(loadedValue, regionBaseVariables, new long[0]);
  }

  /** The mask of the low {@code size} bytes. */
  public static long bytes(int size) {
    return size >= 8 ? BYTES : (1L << size) - 1;
  }

  /** Shadow of the whole of {@code reg}, for the router (string instructions address through RSI/RDI). */
  public long registerShadow(int reg) {
    return registers[reg];
  }

  /** Sets the shadow of {@code size} bytes of T memory at {@code address} (tests; data the driver puts there). */
  public void taintMemory(long address, int size, long shadow) {
    for (int done = 0; done < size; done += 8) {
      int n = Math.min(8, size - done);
      memory.set(address + done, n, (shadow & BYTES) >>> done);
      if (n == 8 && (address & 7) == 0) {
        memory.setPointer(address + done, (shadow & POINTER) != 0);
      }
    }
  }

  /** Shadow of {@code size} (≤ 8) bytes of T memory at {@code address}. */
  public long memoryShadow(long address, int size) {
    long s = memory.get(address, size);
    return size == 8 && (address & 7) == 0 && memory.pointerAt(address) ? s | POINTER : s;
  }

  /** Registers and flags come clean from user mode: called when a system call is entered. */
  public void clearRegisters() {
    java.util.Arrays.fill(registers, 0);
    flags = 0;
  }

  /** Forgets everything (a new inspection on a fresh copy of T). */
  public void reset() {
    clearRegisters();
    memory.clear();
    writtenClean.clear();
    writtenPointers.clear();
  }

  /** Pages of T memory that ever held a tainted byte. */
  public int taintedPageCount() {
    return memory.pageCount();
  }

  @Override
  public long register(int reg, int offset, int size) {
    long s = registers[reg];
    return size == 8 ? s : (s >>> offset) & bytes(size);
  }

  @Override
  public void setRegister(int reg, int offset, int size, long shadow) {
    switch (size) {
      case 8:
        registers[reg] = shadow & KEPT;
        break;
      case 4: // a 32-bit write zero-extends: the upper bytes become clean constants, and it is no pointer
        registers[reg] = shadow & bytes(4);
        break;
      default: // 1 or 2 bytes replaced: the rest keeps its taint and its provenance (maple tree's low tag byte)
        long keep = (BYTES | POINTER) & ~(bytes(size) << offset); // a region base it is no more
        registers[reg] = (registers[reg] & keep) | ((shadow & bytes(size)) << offset);
        break;
    }
  }

  @Override
  public long load(MemoryAccess access) {
    long address = access.address();
    int size = access.size();
    if (access.space() == 0) {
      long shadow = memoryShadow(address, size);
      if (size == 8) {
        return shadow | (contains(regionBases, address) ? REGION_BASE : 0)
            | (contains(perCpuBases, address) ? PER_CPU_BASE : 0);
      }
      return shadow;
    }
    // U is implicitly all-tainted, except bytes this inspection wrote clean
    long s = bytes(size) & ~writtenClean.get(address, size);
    if (size == 8 && (address & 7) == 0) {
      boolean pointer = writtenClean.pointerAt(address) ? writtenPointers.pointerAt(address)
          : loadedValue.getAsLong() < 0;
      s |= pointer ? POINTER : 0;
    }
    return s;
  }

  @Override
  public void store(MemoryAccess access, long shadow) {
    long address = access.address();
    int size = access.size();
    boolean slot = size == 8 && (address & 7) == 0;
    if (access.space() == 0) {
      memory.set(address, size, shadow);
      setSlot(memory, address, size, slot && (shadow & POINTER) != 0);
    } else {
      writtenClean.set(address, size, ~shadow & bytes(size));
      setSlot(writtenClean, address, size, slot);
      setSlot(writtenPointers, address, size, slot && (shadow & POINTER) != 0);
    }
  }

  /** The slot bit of a whole aligned qword store, or cleared for the slots a partial store overlaps. */
  private static void setSlot(ShadowMemory m, long address, int size, boolean bit) {
    m.setPointer(address, bit);
    if ((address & 7) + size > 8) {
      m.setPointer(address + size - 1, false);
    }
  }

  @Override
  public long combine(ShadowOp op, int size, long a, long b) {
    if (((a | b) & (BYTES | POINTER)) == 0) {
      return 0; // clean operands (a region base alone is not taint)
    }
    long all = bytes(size);
    long union = (a | b) & all;
    long pointer = size == 8 ? (a | b) & POINTERS : 0;
    switch (op) {
      case AND: case OR: case XOR: case SELECT: // masking keeps a pointer (low tag bits, alignment)
        return union | pointer;
      case NOT:
        return union;
      case ADD: case ADDRESS: // pointer plus offset; region base plus U data
        return carryUp(union, all) | pointer | (size == 8 && basePlusU(REGION_BASE, a, b) ? POINTER : 0)
            | (size == 8 && basePlusU(PER_CPU_BASE, a, b) ? PER_CPU_POINTER : 0);
      case SUB: // pointer minus offset stays a pointer; a difference of pointers is a length
        return carryUp(union, all) | (size == 8 && (b & POINTERS) == 0 ? a & POINTERS : 0);
      case NEG:
        return carryUp(union, all);
      case SHIFT_LEFT: // pfn_to_virt / page_to_pfn arithmetic keeps the provenance
        return ((b & all) != 0 ? all : carryUp(a & all, all)) | (size == 8 ? a & POINTER : 0);
      case SHIFT_RIGHT:
        return ((b & all) != 0 ? all : carryDown(a & all)) | (size == 8 ? a & POINTER : 0);
      case BSWAP:
        return Long.reverse(a & all) >>> (64 - size) & all;
      default: // MUL, DIV, ROTATE, BIT_SCAN, CONCAT: every byte may depend on every byte; no pointer
        return union == 0 ? 0 : all;
    }
  }

  /** Bytes at and below the highest tainted one. */
  private static long carryDown(long shadow) {
    return shadow == 0 ? 0 : (Long.highestOneBit(shadow) << 1) - 1;
  }

  /** Whether one operand is a base of kind {@code base} and the other U-derived. */
  private static boolean basePlusU(long base, long a, long b) {
    return (a & base) != 0 && (b & BYTES) != 0 || (b & base) != 0 && (a & BYTES) != 0;
  }

  private static boolean contains(long[] addresses, long address) {
    for (long a : addresses) {
      if (a == address) {
        return true;
      }
    }
    return false;
  }

  /** Bytes at and above the lowest tainted one: a carry out of a tainted byte can change every higher byte. */
  private static long carryUp(long shadow, long all) {
    return shadow == 0 ? 0 : all & -Long.lowestOneBit(shadow);
  }

  @Override
  public long extend(long shadow, int fromSize, int toSize, boolean signed) {
    long s = shadow & bytes(fromSize);
    boolean signTainted = (s >>> (fromSize - 1) & 1) != 0;
    return signed && signTainted ? s | (bytes(toSize) & ~bytes(fromSize)) : s;
  }

  @Override
  public long slice(long shadow, int offset, int size) {
    return offset == 0 && size == 8 ? shadow : (shadow >>> offset) & bytes(size);
  }

  @Override
  public void setFlags(long shadow) {
    flags = shadow & BYTES;
  }

  @Override
  public long fromFlags(int size) {
    return flags == 0 ? 0 : bytes(size);
  }
}
