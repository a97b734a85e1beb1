package io.hybridbridge.taint.layout;

import io.hybridbridge.emulator.kernel.KernelLayout;
import io.hybridbridge.emulator.kernel.KernelLayout.Region;
import java.util.OptionalLong;

/**
 * U seen through T's layout (DESIGN §5.2). KASLR moves the image, {@code page_offset_base}, {@code vmalloc_base} and
 * {@code vmemmap_base} of every boot independently. The trusted code runs with T's layout (its constants such as
 * {@code &init_net}, its layout globals, its per-CPU base), so every address it computes is in T's layout and every
 * pointer it reads from U must be made to look like one:
 *
 * <ol>
 *   <li><b>Addresses</b> of redirected accesses are in T's layout and are mapped back to U's
 *       ({@link #addressToU}), then served through U's own kernel page tables.
 *   <li><b>Values</b>: a redirected, naturally aligned 8-byte load returning a kernel pointer into one of U's
 *       randomised regions is rebased into the same region of T's layout ({@link #valueToT}); a redirected aligned
 *       8-byte store of a pointer into one of T's regions is mapped back ({@link #valueToU}), so U's copy-on-write
 *       overlay stays in U's layout and a value read back is the value written. Unaligned or narrower accesses are
 *       never pointers in kernel structures and pass unchanged (a misaligned qword of a byte copy is not a pointer).
 * </ol>
 *
 * The rules, each the same both ways and each with the case that needs it:
 * <ul>
 *   <li><b>Per-CPU units first</b>: offset {@code o} in CPU {@code i}'s unit of one layout is offset {@code o} in CPU
 *       {@code i}'s unit of the other. T computes per-CPU addresses from its own base ({@code %gs:}, {@code
 *       this_cpu_off}, {@code __per_cpu_offset[]}), e.g. {@code per_cpu(kernel_cpustat, cpu)} for /proc/uptime's idle
 *       time, and U's per-CPU list heads point into U's unit; both must meet at the same place. The units live in the
 *       direct map, so this rule must precede the direct-map one (which would keep the physical address, and T's
 *       unit is not at U's unit's physical address).
 *   <li><b>Image</b> ({@code _text.._end} window): by the slide difference. U's sockets point at U's {@code
 *       &init_net}, which {@code net_eq()} compares with T's (measured: without it /proc/net/tcp and udp came back
 *       silently empty); U's module list ends at U's {@code &modules}, which the walk compares with T's.
 *   <li><b>Direct map</b>: physical address preserved ({@code addr - page_offset_base}); slab objects (tasks, pids,
 *       sockets, mounts) are reached through it.
 *   <li><b>vmalloc</b> and <b>vmemmap</b>: same offset from the region base, then U's page tables (vmalloc'd hash
 *       tables and stacks; {@code struct page} arithmetic against T's {@code vmemmap_base}).
 *   <li><b>Everything else</b> (user half, module area, fixmap, cpu_entry_area): not randomised, identity; module
 *       addresses are served through U's page tables, so U's modules are seen at their own addresses.
 * </ul>
 *
 * <p>One kind of address cannot be told by where it lies: T's per-CPU base plus a {@code __percpu} pointer read from
 * U ({@code per_cpu_ptr(fbc->counters, cpu)} of a U object). A {@code __percpu} pointer is an offset from the
 * per-CPU base; in the first chunk it lands in T's unit (the first rule), but a chunk the kernel allocated later
 * lies in vmalloc space, and T's base plus U's offset then lands wherever the two boots' bases put it, possibly
 * inside another region. The slow path knows such an access by its address's provenance and the metadata says so;
 * {@link #perCpuAddressToU} maps it: U's base plus the same offset.
 */
public final class LayoutBridge {
  private final KernelLayout t;
  private final KernelLayout u;
  private final PerCpuUnits tUnits;
  private final PerCpuUnits uUnits;
  /** T's per-CPU bases minus U's, when it is the same for every CPU (it is when both boots laid out their units alike). */
  private final OptionalLong perCpuDelta;
  /** Every bound the rules use lies on a 4 KiB page ({@link #pageGranular}). */
  private final boolean pageGranular;

  /** Thrown when an address of T's layout has no counterpart in U's. */
  public static final class UnmappableAddressException extends Exception {
    private final long address;

    UnmappableAddressException(String message, long address) {
      super(message);
      this.address = address;
    }

    public long address() {
      return address;
    }
  }

  public LayoutBridge(KernelLayout t, PerCpuUnits tUnits, KernelLayout u, PerCpuUnits uUnits) {
    if (t.pagingLevels() != u.pagingLevels()) {
      throw new IllegalArgumentException("paging levels differ: " + t.pagingLevels() + " vs " + u.pagingLevels());
    }
    this.t = t;
    this.u = u;
    this.tUnits = tUnits;
    this.uUnits = uUnits;
    this.perCpuDelta = perCpuDelta(tUnits, uUnits);
    this.pageGranular = t.pageGranular() && u.pageGranular() && tUnits.pageGranular() && uUnits.pageGranular();
  }

  /**
   * Whether each rule maps a whole 4 KiB page alike: every address of a page moves by the same amount (or none has a
   * counterpart) in {@link #addressToU}, {@link #perCpuAddressToU}, {@link #valueToT} and {@link #valueToU}. True
   * when every region and per-CPU unit of both layouts starts and ends on a page, as they do in every boot here; a
   * caller may then remember the shift of a page ({@link UThroughT}).
   */
  public boolean pageGranular() {
    return pageGranular;
  }

  private static OptionalLong perCpuDelta(PerCpuUnits t, PerCpuUnits u) {
    if (t.count() != u.count() || t.count() == 0) {
      return OptionalLong.empty();
    }
    long delta = t.base(0) - u.base(0);
    for (int cpu = 1; cpu < t.count(); cpu++) {
      if (t.base(cpu) - u.base(cpu) != delta) {
        return OptionalLong.empty();
      }
    }
    return OptionalLong.of(delta);
  }

  public KernelLayout trusted() {
    return t;
  }

  public KernelLayout untrusted() {
    return u;
  }

  /** The U-layout address of a redirected access made at T-layout address {@code address}. */
  public long addressToU(long address) throws UnmappableAddressException {
    int cpu = tUnits.cpuOf(address);
    if (cpu >= 0) {
      if (cpu >= uUnits.count()) {
        throw new UnmappableAddressException(String.format(
            "per-CPU address %#x of CPU %d: the snapshot has %d CPUs", address, cpu, uUnits.count()), address);
      }
      return uUnits.base(cpu) + tUnits.offset(cpu, address);
    }
    OptionalLong mapped = t.translate(address, u);
    if (mapped.isEmpty()) {
      throw new UnmappableAddressException(String.format(
          "address %#x (%s of the reference's layout) has no counterpart in the snapshot's layout", address,
          t.regionOf(address)), address);
    }
    return mapped.getAsLong();
  }

  /**
   * The U-layout address of a redirected access made at {@code address}, T's per-CPU base of a CPU plus a U per-CPU
   * offset: U's base of the same CPU plus that offset.
   */
  public long perCpuAddressToU(long address) throws UnmappableAddressException {
    if (perCpuDelta.isEmpty()) {
      throw new UnmappableAddressException(String.format("per-CPU address %#x: the reference's %d per-CPU units %s "
          + "and the snapshot's %d %s are not laid out alike", address, tUnits.count(), hex(tUnits),
          uUnits.count(), hex(uUnits)), address);
    }
    return address - perCpuDelta.getAsLong();
  }

  private static String hex(PerCpuUnits units) {
    return units.bases().stream().map(b -> String.format("%#x", b)).toList().toString();
  }

  /** A value loaded from U, as T's code must see it. */
  public long valueToT(long value) {
    return rebase(value, u, uUnits, t, tUnits);
  }

  /** A value stored into U by T's code, as U's layout holds it. */
  public long valueToU(long value) {
    return rebase(value, t, tUnits, u, uUnits);
  }

  private static long rebase(long value, KernelLayout from, PerCpuUnits fromUnits, KernelLayout to,
      PerCpuUnits toUnits) {
    if (value >= 0) {
      return value; // user half, small integers: not kernel pointers
    }
    int cpu = fromUnits.cpuOf(value);
    if (cpu >= 0 && cpu < toUnits.count()) {
      return toUnits.base(cpu) + fromUnits.offset(cpu, value);
    }
    Region region = from.regionOf(value);
    if (region == Region.FIXED) {
      return value;
    }
    return from.translate(value, to).orElse(value); // beyond the other layout's region: not a pointer of this boot
  }
}
