package io.hybridbridge.taint.testing;

import io.hybridbridge.emulator.cpu.GnuAssembler;

import io.hybridbridge.emulator.cpu.Cpu;
import io.hybridbridge.emulator.cpu.CpuState;
import io.hybridbridge.emulator.cpu.FrameCache;
import io.hybridbridge.emulator.cpu.PagedMemory;
import io.hybridbridge.emulator.cpu.Stop;
import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.kernel.KernelLayout;
import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.memory.AddressTranslator;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.memory.PageFaultException;
import io.hybridbridge.emulator.memory.PhysicalMemory;
import io.hybridbridge.taint.layout.LayoutBridge;
import io.hybridbridge.taint.layout.PerCpuUnits;
import io.hybridbridge.taint.layout.UThroughT;
import io.hybridbridge.taint.policy.RedirectPolicy;
import io.hybridbridge.taint.shadow.TaintShadow;
import io.hybridbridge.taint.slowpath.DecisionLog;
import io.hybridbridge.taint.slowpath.AccessGuard;
import io.hybridbridge.taint.slowpath.RefusingSpace;
import io.hybridbridge.taint.slowpath.TaintRouter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Two boots of one made-up kernel build for unit tests of the slow path: T (trusted, where code runs) and U
 * (untrusted, redirected to), with different KASLR slides, page_offset_base, vmalloc and vmemmap bases and per-CPU
 * bases, a kallsyms profile, and a CPU on T wired with the taint domain, the policy and U seen through T's layout.
 *
 * <p>Link-time map: text {@code 0xffffffff81000000}, rodata with the layout globals ({@code .data..ro_after_init})
 * and {@code __per_cpu_offset[1]} at {@code ...81100000}, .data at {@code ...81200000} ({@code modules}, {@code counter}, {@code names_cachep}, a
 * context variable), .bss at {@code ...81300000}; per-CPU offsets: {@code fixed_percpu_data} 0, {@code current_task}
 * 0x100, {@code this_cpu_off} 0x108, {@code guest_counter} 0x200, static area 0x1000, unit 0x4000.
 */
public final class SyntheticKernel implements AutoCloseable {
  public static final long LINK_TEXT = KernelLayout.DEFAULT_TEXT;
  public static final long T_SLIDE = 0x2000000;
  public static final long U_SLIDE = 0x5000000;
  public static final long PER_CPU_UNIT = 0x4000;

  public static final KernelLayout T_LAYOUT = new KernelLayout(4, 0x100000, LINK_TEXT + T_SLIDE, 0x1000000, 0x400000,
      0xffff888000000000L, 0xffffc90000000000L, 0xffffea0000000000L, List.of(0xffff888000800000L));
  public static final KernelLayout U_LAYOUT = new KernelLayout(4, 0x100000, LINK_TEXT + U_SLIDE, 0x2000000, 0x400000,
      0xffff9a0000000000L, 0xffffb80000000000L, 0xffffe50000000000L, List.of(0xffff9a0000900000L));
  public static final PerCpuUnits T_UNITS = new PerCpuUnits(T_LAYOUT.perCpuBases(), PER_CPU_UNIT, 0x1000);
  public static final PerCpuUnits U_UNITS = new PerCpuUnits(U_LAYOUT.perCpuBases(), PER_CPU_UNIT, 0x1000);
  /** T's kernel stack (vmalloc), 16 KiB; RSP starts at its top. */
  public static final long STACK = 0xffffc90000010000L;

  private static final String[][] SYMBOLS = {
    {"0", "_text", "T"}, {"0", "_stext", "T"}, {"10000", "_etext", "T"},
    {"100000", "__start_rodata", "D"}, {"100800", "__start_ro_after_init", "D"},
    {"100800", "page_offset_base", "D"}, {"100808", "vmemmap_base", "D"}, {"100810", "vmalloc_base", "D"}, {"100818", "__per_cpu_offset", "D"},
    {"100900", "__end_ro_after_init", "D"}, {"101000", "__end_rodata", "D"},
    {"200000", "_sdata", "D"}, {"200000", "modules", "D"}, {"200010", "counter", "D"},
    {"200040", "names_cachep", "D"}, {"200048", "after_names_cachep", "D"}, {"201000", "_edata", "D"},
    {"300000", "__bss_start", "B"}, {"300000", "bss_var", "B"}, {"301000", "__bss_stop", "B"},
    {"380000", "__start___ex_table", "D"}, {"380000", "__stop___ex_table", "D"},
    {"380000", "__start___bug_table", "D"}, {"380000", "__stop___bug_table", "D"},
    {"390000", "__init_begin", "T"}, {"391000", "__init_end", "T"}, {"400000", "_end", "B"},
  };
  private static final String[][] PER_CPU = {
    {"0", "fixed_percpu_data"}, {"0", "__per_cpu_start"}, {"100", "current_task"}, {"108", "this_cpu_off"},
    {"110", "cpu_number"}, {"200", "guest_counter"}, {"1000", "__per_cpu_end"},
  };

  public final Path kallsyms;
  public final Profile profile;
  public final Image tImage = new Image(T_LAYOUT);
  public final Image uImage = new Image(U_LAYOUT);
  public final PagedMemory tMemory;
  public final UThroughT uSpace;
  public final CpuState state = new CpuState();
  public final Cpu cpu;
  public final TaintShadow shadow;
  public final RedirectPolicy policy;
  public final DecisionLog log = new DecisionLog();
  public final TaintRouter router;

  public SyntheticKernel() throws Exception {
    StringBuilder k = new StringBuilder();
    for (String[] s : SYMBOLS) {
      k.append(String.format("%016x %s %s%n", LINK_TEXT + Long.parseLong(s[0], 16) + T_SLIDE, s[2], s[1]));
    }
    for (String[] s : PER_CPU) {
      k.append(String.format("%016x A %s%n", Long.parseLong(s[0], 16), s[1]));
    }
    kallsyms = Files.createTempFile("hb-synthetic", ".kallsyms");
    Files.writeString(kallsyms, k);
    profile = Profile.fromKallsyms(kallsyms);
    // the layout globals hold each boot's own bases
    tImage.putLong(symbol("page_offset_base", T_LAYOUT), T_LAYOUT.pageOffsetBase());
    tImage.putLong(symbol("vmemmap_base", T_LAYOUT), T_LAYOUT.vmemmapBase());
    tImage.putLong(symbol("vmalloc_base", T_LAYOUT), T_LAYOUT.vmallocBase());
    uImage.putLong(symbol("page_offset_base", U_LAYOUT), U_LAYOUT.pageOffsetBase());
    tImage.putLong(symbol("__per_cpu_offset", T_LAYOUT), T_UNITS.base(0));
    uImage.putLong(symbol("__per_cpu_offset", U_LAYOUT), U_UNITS.base(0));
    tImage.putLong(perCpu("this_cpu_off", T_UNITS), T_UNITS.base(0));
    uImage.putLong(perCpu("this_cpu_off", U_UNITS), U_UNITS.base(0));
    tImage.map(STACK - 0x4000, 0x4000);

    tMemory = new PagedMemory(new FrameCache(tImage), tImage);
    LayoutBridge bridge = new LayoutBridge(T_LAYOUT, T_UNITS, U_LAYOUT, U_UNITS);
    uSpace = new UThroughT(new PagedMemory(new FrameCache(uImage), uImage), bridge);
    DecodeCache code = new DecodeCache("synthetic");
    cpu = new Cpu(state, tMemory, code);
    policy = new RedirectPolicy(profile, kallsyms, T_LAYOUT, T_UNITS);
    shadow = new TaintShadow(uSpace::lastRead, new long[] {symbol("page_offset_base", T_LAYOUT),
        symbol("vmemmap_base", T_LAYOUT), symbol("vmalloc_base", T_LAYOUT)}, policy.perCpuBaseVariables());
    int u = cpu.addAddressSpace(uSpace);
    int perCpu = cpu.addAddressSpace(uSpace.perCpuView());
    RefusingSpace refusal = new RefusingSpace();
    int refused = cpu.addAddressSpace(refusal);
    AccessGuard guard = new AccessGuard(new long[] {LINK_TEXT + T_SLIDE, LINK_TEXT + T_SLIDE + 0x10000},
        new long[] {0, 0}, refusal, refused);
    router = new TaintRouter(shadow, policy, guard, T_LAYOUT, u, perCpu, log);
    cpu.setRouter(router);
    cpu.setShadow(shadow);
    state.setCpl(0);
    state.setGsBase(T_UNITS.base(0));
    state.set(Reg.RSP, STACK);
  }

  /** Runtime address of an image symbol in a boot with {@code layout}. */
  public long symbol(String name, KernelLayout layout) {
    return profile.address(name).getAsLong() + layout.slide();
  }

  /** Address of a per-CPU variable in CPU 0's unit of {@code units}. */
  public long perCpu(String name, PerCpuUnits units) {
    return units.base(0) + profile.address(name).getAsLong();
  }

  /** Places {@code assembly} at the start of T's text and runs it up to its {@code hlt}. */
  public Stop run(String assembly) throws IOException {
    byte[] code = GnuAssembler.assemble(assembly);
    tImage.put(T_LAYOUT.textBase(), code);
    state.setRip(T_LAYOUT.textBase());
    return cpu.run(100_000);
  }

  /** A text address {@code offset} bytes into T's text, for code placed by {@link #place}. */
  public static long text(long offset) {
    return T_LAYOUT.textBase() + offset;
  }

  /** Places more code in T's text. */
  public void place(long offset, String assembly) throws IOException {
    tImage.put(text(offset), GnuAssembler.assemble(assembly));
  }

  @Override
  public void close() throws IOException {
    cpu.close();
    Files.deleteIfExists(kallsyms);
  }

  /**
   * The physical memory of one boot, with the translator of its layout: the image at its load address, the direct
   * map at page_offset_base; vmalloc, vmemmap and the module area through explicitly mapped pages.
   */
  public static final class Image implements PhysicalMemory, AddressTranslator {
    private final KernelLayout layout;
    private final Map<Long, byte[]> frames = new HashMap<>();
    private final Map<Long, Long> mapped = new HashMap<>();
    private long nextFrame = 0x4000; // pages for explicit mappings are taken from 64 MiB up

    Image(KernelLayout layout) {
      this.layout = layout;
    }

    /** Backs {@code [va, va+size)} of a region without a linear mapping (vmalloc, vmemmap, modules). */
    public Image map(long va, long size) {
      for (long p = va & ~0xfffL; p < va + size; p += 0x1000) {
        mapped.computeIfAbsent(p >>> 12, x -> nextFrame++);
      }
      return this;
    }

    public void put(long va, byte[] bytes) {
      for (int i = 0; i < bytes.length; i++) {
        long pa = physical(va + i);
        frames.computeIfAbsent(pa >>> 12, x -> new byte[PAGE_SIZE])[(int) (pa & 0xfff)] = bytes[i];
      }
    }

    public void putLong(long va, long value) {
      byte[] b = new byte[8];
      for (int i = 0; i < 8; i++) {
        b[i] = (byte) (value >>> (8 * i));
      }
      put(va, b);
    }

    public long getLong(long va) {
      long v = 0;
      for (int i = 7; i >= 0; i--) {
        long pa = physical(va + i);
        byte[] f = frames.get(pa >>> 12);
        v = (v << 8) | (f == null ? 0 : f[(int) (pa & 0xfff)] & 0xff);
      }
      return v;
    }

    private long physical(long va) {
      try {
        return toPhysical(va, Access.READ);
      } catch (PageFaultException e) {
        throw new IllegalArgumentException(e.getMessage());
      }
    }

    @Override
    public long toPhysical(long va, Access access) throws PageFaultException {
      if (Long.compareUnsigned(va - layout.textBase(), layout.imageSize()) < 0) {
        return layout.physicalLoadAddress() + (va - layout.textBase());
      }
      if (Long.compareUnsigned(va - layout.pageOffsetBase(), 1L << 30) < 0) {
        return va - layout.pageOffsetBase();
      }
      Long frame = mapped.get(va >>> 12);
      if (frame == null) {
        throw new PageFaultException("not mapped: 0x" + Long.toHexString(va), va,
            access == Access.WRITE ? PageFaultException.WRITE : 0);
      }
      return (frame << 12) | (va & 0xfff);
    }

    @Override
    public boolean hasPage(long pageFrame) {
      return true;
    }

    @Override
    public void readPage(long pageFrame, byte[] dst, int offset) throws MemoryAccessException {
      byte[] f = frames.get(pageFrame);
      if (f == null) {
        java.util.Arrays.fill(dst, offset, offset + PAGE_SIZE, (byte) 0);
      } else {
        System.arraycopy(f, 0, dst, offset, PAGE_SIZE);
      }
    }

    @Override
    public void close() {}
  }
}
