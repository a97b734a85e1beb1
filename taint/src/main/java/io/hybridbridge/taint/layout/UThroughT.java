package io.hybridbridge.taint.layout;

import io.hybridbridge.emulator.cpu.AddressSpace;
import io.hybridbridge.emulator.cpu.PagedMemory;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.memory.PageFaultException;

/**
 * The redirected address space: the untrusted snapshot U, copy-on-write (its file is never written), seen through
 * the trusted reference T's layout by the rules of {@link LayoutBridge}. Addresses arrive in T's layout and are
 * served from U's kernel page tables; aligned 8-byte values are rebased on the way in and out.
 *
 * <p>A fault of U's page tables is reported at the T-layout address the code used, so the CPU's page fault (and the
 * kernel's exception table) sees the address the trusted code computed. Code is never fetched from here.
 */
public final class UThroughT implements AddressSpace {
  private final PagedMemory untrusted;
  private final LayoutBridge bridge;
  /** Whether addresses are T's per-CPU base plus a U per-CPU offset ({@link LayoutBridge#perCpuAddressToU}). */
  private final boolean perCpu;
  /** The last 8-byte read of this view or its sibling: one cell, since the taint domain asks after either. */
  private final long[] lastRead;
  /**
   * The shifts of pages already mapped, of addresses to U and of values read to T, when the bridge maps whole pages
   * alike: each rule otherwise tries per-CPU units and regions on every access (a fifth of a fast netstat inspection).
   */
  private final PageShifts addressShifts;
  private final PageShifts valueShifts;
  /** The per-CPU view, made once: it is asked for at every inspection, and its shifts stay. */
  private UThroughT perCpuView;

  /**
   * @param untrusted U's memory through U's kernel page tables, copy-on-write
   * @param bridge the layouts of T and U
   */
  public UThroughT(PagedMemory untrusted, LayoutBridge bridge) {
    this(untrusted, bridge, false, new long[1]);
  }

  private UThroughT(PagedMemory untrusted, LayoutBridge bridge, boolean perCpu, long[] lastRead) {
    this.untrusted = untrusted;
    this.bridge = bridge;
    this.perCpu = perCpu;
    this.lastRead = lastRead;
    this.addressShifts = new PageShifts(bridge.pageGranular());
    this.valueShifts = new PageShifts(bridge.pageGranular());
  }

  /**
   * The same U (its writes, its last read) for accesses whose address is T's per-CPU base plus a U {@code __percpu}
   * offset: the slow path's {@code PER_CPU} decision.
   */
  public UThroughT perCpuView() {
    if (perCpuView == null) {
      perCpuView = new UThroughT(untrusted, bridge, true, lastRead);
    }
    return perCpuView;
  }

  public LayoutBridge bridge() {
    return bridge;
  }

  /** Forgets what inspections wrote to U: the next one sees U as dumped (U's page cache and TLB are kept). */
  public void discardWrites() {
    untrusted.discardWrites();
    lastRead[0] = 0;
  }

  /** Pages of U this run has written (its private copies). */
  public int writtenPageCount() {
    return untrusted.privatePageCount();
  }

  @Override
  public long read(long address, int size) throws MemoryAccessException {
    long value;
    try {
      value = untrusted.read(toU(address, false), size);
    } catch (PageFaultException e) {
      throw atTrustedAddress(e, address);
    }
    lastRead[0] = isPointerSlot(address, size) ? valueToT(value) : value;
    return lastRead[0];
  }

  /** The value the last {@link #read(long, int)} returned (the taint domain asks whether it is a pointer). */
  public long lastRead() {
    return lastRead[0];
  }

  @Override
  public void write(long address, int size, long value) throws MemoryAccessException {
    try {
      untrusted.write(toU(address, true), size, isPointerSlot(address, size) ? bridge.valueToU(value) : value);
    } catch (PageFaultException e) {
      throw atTrustedAddress(e, address);
    }
  }

  @Override
  public void read(long address, byte[] dst, int offset, int length) throws MemoryAccessException {
    try {
      untrusted.read(toU(address, false), dst, offset, length);
    } catch (PageFaultException e) {
      throw atTrustedAddress(e, address);
    }
    forEachPointerSlot(address, dst, offset, length, true);
  }

  @Override
  public void write(long address, byte[] src, int offset, int length) throws MemoryAccessException {
    byte[] copy = java.util.Arrays.copyOfRange(src, offset, offset + length);
    forEachPointerSlot(address, copy, 0, length, false);
    try {
      untrusted.write(toU(address, true), copy, 0, length);
    } catch (PageFaultException e) {
      throw atTrustedAddress(e, address);
    }
  }

  /** A fault of U's page tables, reported at the T-layout address the trusted code used (its CR2). */
  private static PageFaultException atTrustedAddress(PageFaultException e, long address) {
    return new PageFaultException(String.format("snapshot address %#x: %s", e.address(), e.getMessage()), address,
        e.errorCode(), e.kind());
  }

  @Override
  public int fetch(long address, byte[] dst, int length) throws MemoryAccessException {
    throw new MemoryAccessException("code is never fetched from the untrusted snapshot", address);
  }

  @Override
  public void invalidate(long address) {
    try {
      untrusted.invalidate(mapped(address));
    } catch (LayoutBridge.UnmappableAddressException e) {
      untrusted.flush();
    }
  }

  @Override
  public void flush() {
    untrusted.flush();
  }

  /** Pointers in kernel structures are naturally aligned qwords; nothing else is rebased. */
  private static boolean isPointerSlot(long address, int size) {
    return size == 8 && (address & 7) == 0;
  }

  /** Rebases every aligned qword of a block access (cmpxchg16b's pair is written this way). */
  private void forEachPointerSlot(long address, byte[] bytes, int offset, int length, boolean toT) {
    for (int k = (int) (-address & 7); k + 8 <= length; k += 8) {
      long v = 0;
      for (int j = 7; j >= 0; j--) {
        v = (v << 8) | (bytes[offset + k + j] & 0xff);
      }
      long r = toT ? bridge.valueToT(v) : bridge.valueToU(v);
      for (int j = 0; j < 8; j++) {
        bytes[offset + k + j] = (byte) (r >>> (8 * j));
      }
    }
  }

  private long toU(long address, boolean write) throws PageFaultException {
    try {
      return mapped(address);
    } catch (LayoutBridge.UnmappableAddressException e) {
      // Architecturally a not-present page at the address the trusted code used.
      throw new PageFaultException("redirected access: " + e.getMessage(), address,
          write ? PageFaultException.WRITE : 0);
    }
  }

  private long mapped(long address) throws LayoutBridge.UnmappableAddressException {
    long shift = addressShifts.shift(address);
    if (shift != PageShifts.NONE) {
      return address + shift;
    }
    long mapped = perCpu ? bridge.perCpuAddressToU(address) : bridge.addressToU(address);
    return addressShifts.remember(address, mapped);
  }

  private long valueToT(long value) {
    long shift = valueShifts.shift(value);
    if (shift != PageShifts.NONE) {
      return value + shift;
    }
    return valueShifts.remember(value, bridge.valueToT(value));
  }
}
