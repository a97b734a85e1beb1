package io.hybridbridge.taint.policy;

import io.hybridbridge.emulator.kernel.KernelLayout;
import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.kernel.ProfileException;
import io.hybridbridge.emulator.kernel.Section;
import io.hybridbridge.emulator.kernel.Symbol;
import io.hybridbridge.taint.layout.PerCpuUnits;
import io.hybridbridge.taint.shadow.TaintShadow;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The taint sources of the slow path (DESIGN §5.3), in one place: which memory the inspection's system calls read
 * from the untrusted snapshot U even though the address they use is clean (it came from T's code or T's own data).
 *
 * <ul>
 *   <li><b>Sources</b>: T's writable kernel data ({@code .data}, {@code .bss}, by section bounds from the profile)
 *       and the static per-CPU variables ({@code __per_cpu_start..__per_cpu_end} in every CPU's unit): the guest's
 *       global state (process, module, socket and mount lists, time keeping, per-CPU counters).
 *   <li><b>Local</b>: text and {@code .rodata} (identical in T and U); {@code .data..ro_after_init} (boot-time
 *       configuration: layout bases, hash-table pointers, kmalloc caches, ops tables; redirecting {@code
 *       dentry_hashtable} would walk U's dcache during T's own path lookups); dynamic per-CPU allocations of the
 *       first chunk reached from T (allocator state, e.g. the slab's {@code cpu_slab} freelists through {@code
 *       this_cpu_off}); everything T allocated or owns (stack, task, files, seq_file buffers), reached by clean
 *       pointers.
 *   <li><b>Never redirected</b>: the variables of {@link #CONTEXT}, each with the case that needs it.
 * </ul>
 *
 * The decision for one access ({@link #route}), in order:
 * <ol>
 *   <li>Implicit stack accesses (push, pop, call, ret) and system areas (iretq frames) are local: the stack is T's.
 *   <li>An explicit operand based on RSP is local even when its index is tainted: it indexes T's stack.
 *   <li>An address whose pointer came from U ({@link TaintShadow#POINTER}) is redirected.
 *   <li>T's per-CPU base plus a U per-CPU offset ({@link TaintShadow#PER_CPU_POINTER}, or a {@code %gs:} operand
 *       whose offset is tainted) is redirected to U's per-CPU area ({@link Route#PER_CPU}): a {@code __percpu}
 *       pointer of a U object is an offset from the per-CPU base, not a pointer, and beyond the first chunk T's base
 *       plus it lies outside T's units. (Before, any tainted address inside T's units was redirected. But a unit's
 *       tail beyond what the first chunk uses is memory the kernel gave back at boot: in 384 MiB rt guests T's dentry
 *       hash table lay there, a fifth of the /proc/&lt;pid&gt; lookups' buckets were sent to U's unit, and the fast
 *       path fell back on every ps of guests with ≈ 580 processes, the same instruction seen both ways.)
 *   <li>A clean address is redirected when it is a source ({@link #isSource}).
 *   <li>Everything else is local (including T pointers advanced by U-derived amounts, see {@link TaintShadow}).
 * </ol>
 */
public final class RedirectPolicy {
  /** A variable of the inspection's own execution context, never redirected, and the case that needs it. */
  public record ContextVariable(String symbol, String why) {}

  /**
   * The inspection's execution context: the agent's process, its CPU, its stack, the allocator state it uses.
   * Per-CPU variables and global ones alike; names absent from a build are skipped (6.1 and 6.12 differ, e.g.
   * {@code current_task} became part of {@code pcpu_hot}).
   */
  public static final List<ContextVariable> CONTEXT = List.of(
      new ContextVariable("current_task",
          "current: the inspection runs as T's agent (its files, credentials, root, fd table, the fds the tools open)"),
      new ContextVariable("pcpu_hot",
          "6.2+: current_task, preempt_count, cpu_number, top_of_stack, hardirq stack of the running CPU"),
      new ContextVariable("fixed_percpu_data",
          "the stack canary %gs:0x28 that T's prologues store and epilogues check"),
      new ContextVariable("__preempt_count",
          "6.1: preemption/softirq/hardirq nesting of the running CPU; U's frozen value may say 'in interrupt'"),
      new ContextVariable("cpu_number", "6.1: smp_processor_id() of the running CPU, indexes __per_cpu_offset"),
      new ContextVariable("this_cpu_off",
          "T's per-CPU base: this_cpu_ptr() of T's own per-CPU allocations (slab cpu_slab freelists) must stay T's"),
      new ContextVariable("cpu_current_top_of_stack", "6.1: the kernel stack the syscall entry switches to"),
      new ContextVariable("hardirq_stack_ptr", "6.1: the IRQ stack of the running CPU"),
      new ContextVariable("hardirq_stack_inuse", "6.1: IRQ stack in use flag of the running CPU"),
      new ContextVariable("irq_stack_backing_store", "the IRQ stack of the running CPU"),
      new ContextVariable("numa_node",
          "NUMA node of the running CPU: __get_free_page() for /proc/<pid>/cmdline picks T's zone and pcp lists by it"),
      new ContextVariable("cpu_tss_rw", "TSS: entry stack pointers used by the syscall entry and return"),
      new ContextVariable("entry_stack_storage", "the entry trampoline stack of the running CPU"),
      new ContextVariable("cpu_tlbstate", "CR3/PCID state of the running CPU, read by the entry and exit paths"),
      new ContextVariable("fpu_fpregs_owner_ctx",
          "the FPU registers belong to T's agent: exit_to_user_mode checks it (a WARN's ud2 otherwise)"),
      new ContextVariable("rcu_data",
          "call_rcu() of T's own frees (__fput of the files the tools open) queues on the running CPU's RCU state"),
      new ContextVariable("rcu_state", "call_rcu() of T's own frees: the RCU grace-period machinery is T's"),
      new ContextVariable("irq_stat", "softirq pending bits of the running CPU (raise_softirq from call_rcu)"),
      new ContextVariable("ksoftirqd", "the running CPU's softirq thread: waking U's would schedule U's task"),
      new ContextVariable("context_tracking", "user/kernel context tracking of the running CPU (call_rcu)"),
      // T's own VFS objects. 6.1 keeps these pointers __read_mostly (in .data); 6.12 made them __ro_after_init.
      new ContextVariable("names_cachep", "getname() of every openat allocates the path name from T's names cache"),
      new ContextVariable("filp_cachep", "alloc_empty_file() of every openat allocates T's struct file"),
      new ContextVariable("lsm_file_cache", "security_file_alloc(): the LSM blob of T's struct file"),
      new ContextVariable("lsm_inode_cache", "security_inode_alloc(): the LSM blob of T's inodes (/proc/<pid> lookups)"),
      new ContextVariable("dentry_cache", "__d_alloc() of /proc/<pid> lookups allocates T's dentries"),
      new ContextVariable("inode_cachep", "alloc_inode() of T's inodes"),
      new ContextVariable("dentry_hashtable", "__d_lookup_rcu(): T's path walk looks names up in T's dcache"),
      new ContextVariable("d_hash_shift", "__d_lookup_rcu(): the shift of T's dentry_hashtable"),
      new ContextVariable("in_lookup_hashtable", "d_alloc_parallel(): T's lookups in progress"),
      new ContextVariable("inode_hashtable", "T's inode hash"),
      new ContextVariable("mount_hashtable", "T's path walk crosses T's mounts (__lookup_mnt)"),
      new ContextVariable("mountpoint_hashtable", "T's mount points"),
      new ContextVariable("m_hash_shift", "the shift of T's mount_hashtable"),
      new ContextVariable("m_hash_mask", "the mask of T's mount_hashtable"),
      new ContextVariable("mount_lock",
          "path_init() samples this seqlock around T's mount tree; U's frozen count may be odd (retry forever)"),
      new ContextVariable("rename_lock",
          "path_init() samples this seqlock around T's dcache; U's frozen count may be odd (retry forever)"),
      new ContextVariable("mem_section", "__virt_addr_valid(): hardened usercopy checks T's own buffers' pages"),
      new ContextVariable("phys_base", "where T's image is in physical memory (a layout constant in .data, beside "
          + "the __ro_after_init page_offset_base): __pa_symbol() of T's symbols; with U's, hardened usercopy's "
          + "check_kernel_text_object placed T's text at U's text's physical address and refused a T buffer there"),
      new ContextVariable("node_data", "the page allocator of T's own allocations"),
      new ContextVariable("gfp_allowed_mask", "masks the flags of every T allocation: redirected, its taint made the "
          + "page allocator's per-CPU list index look U-derived, and 6.1's slab took new pages from U's free lists"),
      new ContextVariable("contig_page_data", "the page allocator of T's own allocations (non-NUMA builds)"),
      // The random numbers of T's own allocations (the slab's freelist randomisation draws them when T's allocation
      // needs a new slab): redirected, T's allocator read and wrote U's entropy state, and blake2s's rounds mixed
      // T's and U's data so that 5 of 6.1 ps's instructions were local and redirected in one call-site context.
      new ContextVariable("base_crng", "the random numbers of T's allocations (freelist randomisation)"),
      new ContextVariable("input_pool", "the entropy pool a reseed of T's random numbers extracts"),
      new ContextVariable("crng_init", "whether T's random numbers are ready"),
      new ContextVariable("crngs", "the running CPU's random number state"),
      new ContextVariable("batched_entropy_u8", "the running CPU's batch of random bytes"),
      new ContextVariable("batched_entropy_u16", "the running CPU's batch of random numbers"),
      new ContextVariable("batched_entropy_u32", "the running CPU's batch of random numbers (get_random_u32)"),
      new ContextVariable("batched_entropy_u64", "the running CPU's batch of random numbers"));

  private final Profile profile;
  private final long slide;
  private final PerCpuUnits units;
  private final List<Section> writable;
  private final PerCpuSymbols perCpu;
  /** KASLR-free image ranges and per-CPU offset ranges of {@link #CONTEXT}, with their entry. */
  private final List<Range> imageContext = new ArrayList<>();
  private final List<Range> perCpuContext = new ArrayList<>();

  private record Range(long start, long end, ContextVariable variable) {
    boolean contains(long x) {
      return Long.compareUnsigned(x - start, end - start) < 0;
    }
  }

  /**
   * @param profile the build's profile
   * @param kallsyms the kallsyms file the profile came from (for the extents of per-CPU variables)
   * @param trusted the reference's layout
   * @param trustedUnits the reference's per-CPU units
   */
  public RedirectPolicy(Profile profile, Path kallsyms, KernelLayout trusted, PerCpuUnits trustedUnits)
      throws ProfileException {
    this(profile, kallsyms, trusted, trustedUnits, CONTEXT);
  }

  /** A policy with another context list: for measuring what each entry of {@link #CONTEXT} is needed for. */
  public RedirectPolicy(Profile profile, Path kallsyms, KernelLayout trusted, PerCpuUnits trustedUnits,
      List<ContextVariable> context) throws ProfileException {
    this.profile = profile;
    this.slide = trusted.slide();
    this.units = trustedUnits;
    this.writable = List.of(profile.data(), profile.bss());
    this.perCpu = PerCpuSymbols.read(kallsyms, profile);
    for (ContextVariable v : context) {
      long[] e = perCpu.extent(profile, v.symbol());
      if (e != null) {
        perCpuContext.add(new Range(e[0], e[1], v));
      }
      imageExtent(v.symbol()).ifPresent(r -> imageContext.add(new Range(r[0], r[1], v)));
    }
  }

  private Optional<long[]> imageExtent(String name) {
    for (Symbol s : profile.symbols(name)) {
      if (!s.perCpu()) {
        List<Symbol> image = profile.imageSymbols();
        long end = profile.section("image").end();
        int lo = 0;
        int hi = image.size();
        while (lo < hi) { // first symbol above s
          int mid = (lo + hi) >>> 1;
          if (Long.compareUnsigned(image.get(mid).address(), s.address()) <= 0) {
            lo = mid + 1;
          } else {
            hi = mid;
          }
        }
        if (lo < image.size()) {
          end = image.get(lo).address();
        }
        return Optional.of(new long[] {s.address(), end});
      }
    }
    return Optional.empty();
  }

  /** How an access names its memory, as far as the decision cares. */
  public enum Operand {
    /** push, pop, call, ret, and the system areas of iretq: T's stack and T's CPU structures. */
    IMPLICIT_STACK,
    /** An explicit operand whose base register is RSP. */
    STACK_BASED,
    /** Any other explicit operand, or the RSI/RDI of a string instruction. */
    ADDRESSED
  }

  /** Where an access is served from. */
  public enum Route {
    /** T. */
    LOCAL,
    /** U, seen through T's layout. */
    REDIRECT,
    /** U's per-CPU area: the address is T's per-CPU base plus a U per-CPU offset. */
    PER_CPU
  }

  /**
   * Where an access is served from.
   *
   * @param addressShadow the shadow of the registers the address was computed from
   * @param address the linear address, in T's layout
   * @param gsRelative whether the operand is {@code %gs:}-relative (its base is T's per-CPU base)
   */
  public Route route(Operand operand, long addressShadow, long address, boolean gsRelative) {
    if (operand != Operand.ADDRESSED) {
      return Route.LOCAL;
    }
    if ((addressShadow & TaintShadow.POINTER) != 0) {
      return Route.REDIRECT;
    }
    boolean tainted = (addressShadow & TaintShadow.BYTES) != 0;
    if ((addressShadow & TaintShadow.PER_CPU_POINTER) != 0 || gsRelative && tainted) {
      return Route.PER_CPU;
    }
    return !tainted && isSource(address) ? Route.REDIRECT : Route.LOCAL;
  }

  /** Whether an access is served from U (by either route). */
  public boolean redirects(Operand operand, long addressShadow, long address) {
    return route(operand, addressShadow, address, false) != Route.LOCAL;
  }

  /**
   * The runtime addresses of the 8-byte variables that hold T's per-CPU bases ({@link TaintShadow#PER_CPU_BASE}):
   * {@code __per_cpu_offset[cpu]} ({@code per_cpu_ptr}) and each CPU's {@code this_cpu_off} ({@code this_cpu_ptr}).
   */
  public long[] perCpuBaseVariables() {
    List<Long> addresses = new ArrayList<>();
    for (Symbol s : profile.symbols("__per_cpu_offset")) {
      for (int cpu = 0; cpu < units.count() && !s.perCpu(); cpu++) {
        addresses.add(s.address() + slide + 8L * cpu);
      }
    }
    for (Symbol s : profile.symbols("this_cpu_off")) {
      for (int cpu = 0; cpu < units.count() && s.perCpu(); cpu++) {
        addresses.add(units.base(cpu) + s.address());
      }
    }
    return addresses.stream().mapToLong(Long::longValue).toArray();
  }

  /** Whether a clean access to {@code address} (T's layout) reads the guest's state, so is redirected. */
  public boolean isSource(long address) {
    int cpu = units.cpuOf(address);
    if (cpu >= 0) {
      long offset = units.offset(cpu, address);
      return offset < units.staticSize() && context(perCpuContext, offset) == null;
    }
    long kaslrFree = address - slide;
    for (Section s : writable) {
      if (s.contains(kaslrFree)) {
        return context(imageContext, kaslrFree) == null;
      }
    }
    return false;
  }

  /** What {@code address} is, for error messages and reports: "per-CPU runqueues+0x40", "data init_net+0x8", .... */
  public String describe(long address) {
    int cpu = units.cpuOf(address);
    if (cpu >= 0) {
      long offset = units.offset(cpu, address);
      return offset < units.staticSize() ? "per-CPU " + perCpu.nameAt(offset)
          : String.format("per-CPU dynamic %#x", offset);
    }
    long kaslrFree = address - slide;
    return profile.symbolAt(kaslrFree).map(Object::toString).orElse(String.format("%#x", address));
  }

  /** The context variable covering {@code address}, if any. */
  public Optional<ContextVariable> contextVariable(long address) {
    int cpu = units.cpuOf(address);
    Range r = cpu >= 0 ? findRange(perCpuContext, units.offset(cpu, address)) : findRange(imageContext, address - slide);
    return Optional.ofNullable(r).map(Range::variable);
  }

  private static ContextVariable context(List<Range> ranges, long x) {
    Range r = findRange(ranges, x);
    return r == null ? null : r.variable;
  }

  private static Range findRange(List<Range> ranges, long x) {
    for (Range r : ranges) {
      if (r.contains(x)) {
        return r;
      }
    }
    return null;
  }
}
