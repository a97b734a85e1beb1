package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.memory.AddressTranslator;
import io.hybridbridge.emulator.memory.AddressTranslator.Access;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.memory.PhysicalMemory;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Guest-virtual memory over a memory image: a software TLB in front of an {@link AddressTranslator} and a
 * {@link FrameCache}, with copy-on-write. Reads come from the image's pages; the first write to a physical
 * page copies it privately (so every virtual alias of that page, e.g. the kernel image and the direct map,
 * sees the write); the image is never written. {@link ScratchWindow}s are served from Java memory.
 * {@link #physical()} is the physical memory as this memory sees it (private copies over the image): page-table
 * walkers built over it see the page tables the guest wrote.
 *
 * <p>The TLB is direct-mapped, separately for reads, writes and instruction fetches, and caches per 4 KiB
 * virtual page the backing array; a hit costs a tag compare and an array access. Not thread-safe: one per CPU.
 * 4,096 entries: with 1,024, a warm ps inspection of a 6.12 kernel missed ≈ 5,500 times (each a page-table walk),
 * with 4,096 ≈ 640.
 */
public final class PagedMemory implements AddressSpace {
  private static final int PAGE = 4096;
  private static final int TLB_BITS = 12;
  private static final int TLB_SIZE = 1 << TLB_BITS;
  private static final int TLB_MASK = TLB_SIZE - 1;
  private static final VarHandle SHORT =
      MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
  private static final VarHandle LONG =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  private final FrameCache frames;
  private AddressTranslator translator;
  private final Map<Long, byte[]> privateFrames = new HashMap<>();
  /**
   * Private copies whose writes were discarded, for the next copies: a machine restored for every inspection would
   * otherwise allocate (and the JVM zero and the OS fault in) the same pages each time, a tenth of a small tool's
   * fast inspection.
   */
  private final List<byte[]> spare = new ArrayList<>();
  /**
   * Pages written before a checkpoint ({@link #writtenPages}), read-only: between the private copies and the image.
   * Empty: the image as dumped.
   */
  private Map<Long, byte[]> baseline = Map.of();
  private final List<ScratchWindow> windows = new ArrayList<>();

  private final long[] readTag = new long[TLB_SIZE];
  private final byte[][] readPage = new byte[TLB_SIZE][];
  private final long[] writeTag = new long[TLB_SIZE];
  private final byte[][] writePage = new byte[TLB_SIZE][];
  private final long[] fetchTag = new long[TLB_SIZE];
  private final byte[][] fetchPage = new byte[TLB_SIZE][];
  /**
   * The read/fetch entry's page is a private copy or a scratch page ({@link #discardWrites} points it at the frame's
   * shared page again, or drops it for a scratch page).
   */
  private final boolean[] readPrivate = new boolean[TLB_SIZE];
  private final boolean[] fetchPrivate = new boolean[TLB_SIZE];
  /** The physical frame of each entry's page; {@link #SCRATCH} for a scratch page. */
  private final long[] readFrame = new long[TLB_SIZE];
  private final long[] writeFrame = new long[TLB_SIZE];
  private final long[] fetchFrame = new long[TLB_SIZE];
  private static final long SCRATCH = -1;
  /**
   * Write entries dropped at {@link #discardWrites} whose translation still holds: the virtual page and its frame. A
   * write there makes the frame's private copy again without walking the page tables; each run of a tool writes
   * nearly the same pages (its stack, the kernel's buffers).
   */
  private final long[] copyTag = new long[TLB_SIZE];
  private final long[] copyFrame = new long[TLB_SIZE];
  /**
   * The slots whose entries may hold a private copy (some twice, some refilled since): what {@link #discardWrites}
   * must look at, instead of every slot of the TLB.
   */
  private int[] privateSlots = new int[256];
  private int privateSlotCount;
  /**
   * The read and fetch entries that hold each frame's shared page: a page's first write makes a private copy, and
   * every virtual alias of the frame cached with the shared page must be pointed at the copy; looking them up here
   * costs less than scanning the TLB for each copy (hundreds per inspection).
   */
  private final FrameSlots aliases = new FrameSlots(8 * TLB_SIZE);
  /** A translation read a private (guest-written) page-table page since the last {@link #discardWrites}. */
  private boolean walkedPrivatePage;
  private final PhysicalMemory physical = new PhysicalView();

  public PagedMemory(FrameCache frames, AddressTranslator translator) {
    this.frames = frames;
    this.translator = translator;
    flush();
  }

  /** Switches to another page-table root (CR3 load); drops the TLB. */
  public void setTranslator(AddressTranslator translator) {
    this.translator = translator;
    flush();
  }

  /** Serves {@code [base, base+size)} (page-aligned) from Java memory. */
  public ScratchWindow mapScratch(long base, long size) {
    for (ScratchWindow w : windows) {
      if (w.overlaps(base, size)) {
        throw new IllegalArgumentException("scratch window 0x%x+0x%x overlaps 0x%x+0x%x"
            .formatted(base, size, w.base(), w.size()));
      }
    }
    ScratchWindow w = new ScratchWindow(base, size);
    windows.add(w);
    flush();
    return w;
  }

  /** Number of physical pages this memory has written (its private copies). */
  public int privatePageCount() {
    return privateFrames.size();
  }

  /**
   * Forgets every write: the private page copies are dropped (the image's pages show again) and the scratch
   * windows are zeroed. What a machine does to start a run from the pristine snapshot. Cached translations
   * survive when they cannot have changed, that is when no translation read a page table the guest wrote (the
   * translator must then be one over {@link #physical()} or the image, for the same root): those of written pages too,
   * which the next run's first write copies again without a walk (a small tool's fast inspection walked ≈ 100 times,
   * 4–6 % of its time; now ≈ 2).
   */
  public void discardWrites() {
    discardWrites(Map.of(), null);
  }

  /**
   * Forgets every write since {@code pages} were taken ({@link #writtenPages}): memory shows those pages over the
   * image, and the scratch windows hold {@code scratch} ({@link #scratchContents}; null: zeroed). What a machine does
   * to start a run from a checkpoint. Translations survive as in {@link #discardWrites()} when {@code pages} is the
   * baseline of the last call; other pages flush the TLB.
   */
  public void discardWrites(Map<Long, byte[]> pages, List<byte[][]> scratch) {
    spare.addAll(privateFrames.values()); // only the TLB, whose entries for them are dropped below, refers to them
    privateFrames.clear();
    for (int k = 0; k < windows.size(); k++) {
      windows.get(k).restore(scratch == null ? null : scratch.get(k));
    }
    if (pages != baseline) {
      baseline = pages;
      flush();
      return;
    }
    if (walkedPrivatePage) {
      flush();
      return;
    }
    // The translations hold; the pages they gave were private copies or scratch pages, both gone now.
    for (int k = 0; k < privateSlotCount; k++) {
      int i = privateSlots[k];
      if (readTag[i] != -1 && readPrivate[i] && !unshare(readFrame[i], readPage, readPrivate, i, i)) {
        readTag[i] = -1;
      }
      if (fetchTag[i] != -1 && fetchPrivate[i] && !unshare(fetchFrame[i], fetchPage, fetchPrivate, i, TLB_SIZE + i)) {
        fetchTag[i] = -1;
      }
      if (writeTag[i] != -1) { // every writable page is a private copy or a scratch page
        if (writeFrame[i] != SCRATCH) {
          copyTag[i] = writeTag[i];
          copyFrame[i] = writeFrame[i];
        }
        writeTag[i] = -1;
      }
    }
    privateSlotCount = 0;
  }

  /**
   * Points read or fetch entry {@code i}, which held a private copy or a scratch page, at its frame's shared page
   * ({@code slot}: its index in {@link #aliases}); false for a scratch page, whose window was refilled.
   */
  private boolean unshare(long frame, byte[][] pages, boolean[] isPrivate, int i, int slot) {
    if (frame == SCRATCH) {
      return false;
    }
    try {
      pages[i] = shared(frame);
    } catch (MemoryAccessException e) {
      return false; // cannot happen (the frame was read before, and the image's pages are cached): walk again
    }
    isPrivate[i] = false;
    indexAlias(frame, slot);
    return true;
  }

  /**
   * Every page written so far (the baseline's and the private copies, copied): read-only pages for a later
   * {@link #discardWrites(Map, List)}.
   */
  public Map<Long, byte[]> writtenPages() {
    Map<Long, byte[]> pages = new HashMap<>(baseline);
    privateFrames.forEach((frame, page) -> pages.put(frame, page.clone()));
    return java.util.Collections.unmodifiableMap(pages);
  }

  /** The scratch windows' contents, copied, in the order they were mapped. */
  public List<byte[][]> scratchContents() {
    List<byte[][]> contents = new ArrayList<>();
    for (ScratchWindow w : windows) {
      contents.add(w.contents());
    }
    return contents;
  }

  /** The guest-physical memory as this memory sees it: its private copies over the image. Read-only. */
  public PhysicalMemory physical() {
    return physical;
  }

  @Override
  public void flush() {
    java.util.Arrays.fill(readTag, -1);
    java.util.Arrays.fill(writeTag, -1);
    java.util.Arrays.fill(fetchTag, -1);
    java.util.Arrays.fill(copyTag, -1);
    aliases.clear();
    privateSlotCount = 0;
    walkedPrivatePage = false;
  }

  @Override
  public void invalidate(long address) {
    long vpn = address >>> 12;
    int i = (int) vpn & TLB_MASK;
    if (readTag[i] == vpn) {
      readTag[i] = -1;
    }
    if (writeTag[i] == vpn) {
      writeTag[i] = -1;
    }
    if (fetchTag[i] == vpn) {
      fetchTag[i] = -1;
    }
    if (copyTag[i] == vpn) {
      copyTag[i] = -1;
    }
  }

  @Override
  public long read(long address, int size) throws MemoryAccessException {
    long vpn = address >>> 12;
    int i = (int) vpn & TLB_MASK;
    int off = (int) address & (PAGE - 1);
    if (readTag[i] == vpn && off + size <= PAGE) {
      byte[] p = readPage[i];
      switch (size) {
        case 1: return p[off] & 0xffL;
        case 2: return (short) SHORT.get(p, off) & 0xffffL;
        case 4: return (int) INT.get(p, off) & 0xffffffffL;
        default: return (long) LONG.get(p, off);
      }
    }
    return readSlow(address, size);
  }

  private long readSlow(long address, int size) throws MemoryAccessException {
    if (((int) address & (PAGE - 1)) + size <= PAGE) {
      readable(address);
      return read(address, size);
    }
    long v = 0;
    for (int k = size - 1; k >= 0; k--) {
      v = (v << 8) | read(address + k, 1);
    }
    return v;
  }

  @Override
  public void write(long address, int size, long value) throws MemoryAccessException {
    long vpn = address >>> 12;
    int i = (int) vpn & TLB_MASK;
    int off = (int) address & (PAGE - 1);
    if (writeTag[i] == vpn && off + size <= PAGE) {
      byte[] p = writePage[i];
      switch (size) {
        case 1: p[off] = (byte) value; return;
        case 2: SHORT.set(p, off, (short) value); return;
        case 4: INT.set(p, off, (int) value); return;
        default: LONG.set(p, off, value); return;
      }
    }
    writeSlow(address, size, value);
  }

  private void writeSlow(long address, int size, long value) throws MemoryAccessException {
    if (((int) address & (PAGE - 1)) + size <= PAGE) {
      writable(address);
      write(address, size, value);
      return;
    }
    writable(address);
    writable((address + size - 1) & ~0xfffL); // both pages before any byte: a fault leaves memory unchanged
    for (int k = 0; k < size; k++) {
      writable(address + k)[(int) (address + k) & (PAGE - 1)] = (byte) (value >>> (8 * k));
    }
  }

  @Override
  public void read(long address, byte[] dst, int offset, int length) throws MemoryAccessException {
    int done = 0;
    while (done < length) {
      long a = address + done;
      int off = (int) a & (PAGE - 1);
      int n = Math.min(length - done, PAGE - off);
      System.arraycopy(readable(a), off, dst, offset + done, n);
      done += n;
    }
  }

  @Override
  public void write(long address, byte[] src, int offset, int length) throws MemoryAccessException {
    for (long page = address & ~0xfffL; length > 0 && page - address < length; page += PAGE) {
      writable(Math.max(page, address));
    }
    int done = 0;
    while (done < length) {
      long a = address + done;
      int off = (int) a & (PAGE - 1);
      int n = Math.min(length - done, PAGE - off);
      System.arraycopy(src, offset + done, writable(a), off, n);
      done += n;
    }
  }

  @Override
  public int fetch(long address, byte[] dst, int length) throws MemoryAccessException {
    int done = 0;
    while (done < length) {
      long a = address + done;
      byte[] page;
      try {
        page = fetchable(a);
      } catch (MemoryAccessException e) {
        if (done == 0) {
          throw e;
        }
        break;
      }
      int off = (int) a & (PAGE - 1);
      int n = Math.min(length - done, PAGE - off);
      System.arraycopy(page, off, dst, done, n);
      done += n;
    }
    return done;
  }

  private byte[] readable(long address) throws MemoryAccessException {
    return cached(readTag, readPage, readPrivate, readFrame, 0, address, Access.READ);
  }

  private byte[] writable(long address) throws MemoryAccessException {
    return cached(writeTag, writePage, null, writeFrame, 0, address, Access.WRITE);
  }

  private byte[] fetchable(long address) throws MemoryAccessException {
    return cached(fetchTag, fetchPage, fetchPrivate, fetchFrame, TLB_SIZE, address, Access.EXECUTE);
  }

  /**
   * The page of {@code address} through one of the TLBs, filling the entry on a miss. The read and fetch TLBs
   * ({@code isPrivate} given) index their entries that hold a shared page under its frame, as entries {@code
   * slots + i}.
   */
  private byte[] cached(long[] tags, byte[][] pages, boolean[] isPrivate, long[] frames, int slots, long address,
      Access access) throws MemoryAccessException {
    long vpn = address >>> 12;
    int i = (int) vpn & TLB_MASK;
    if (tags[i] != vpn) {
      byte[] page = resolve(address, access);
      pages[i] = page;
      tags[i] = vpn;
      frames[i] = resolvedFrame;
      if (isPrivate != null) {
        isPrivate[i] = resolvedPrivate;
      }
      if (resolvedPrivate) {
        addPrivateSlot(i);
      } else {
        indexAlias(resolvedFrame, slots + i);
      }
    }
    return pages[i];
  }

  /** Indexes entry {@code slot} (see {@link #aliases}), which holds {@code frame}'s shared page. */
  private void indexAlias(long frame, int slot) {
    if (aliases.full()) {
      indexAliases();
    }
    aliases.add(frame, slot);
  }

  private void addPrivateSlot(int i) {
    if (privateSlotCount == privateSlots.length) {
      privateSlots = java.util.Arrays.copyOf(privateSlots, 2 * privateSlotCount);
    }
    privateSlots[privateSlotCount++] = i;
  }

  /** Rebuilds {@link #aliases} from the TLB's entries, without the entries refilled since they were added. */
  private void indexAliases() {
    aliases.clear();
    for (int i = 0; i < TLB_SIZE; i++) {
      if (readTag[i] != -1 && !readPrivate[i]) {
        aliases.add(readFrame[i], i);
      }
      if (fetchTag[i] != -1 && !fetchPrivate[i]) {
        aliases.add(fetchFrame[i], TLB_SIZE + i);
      }
    }
  }

  /** Whether the last {@link #resolve} gave a private copy or a scratch page; when not, its frame. */
  private boolean resolvedPrivate;
  private long resolvedFrame;

  private byte[] resolve(long address, Access access) throws MemoryAccessException {
    for (ScratchWindow w : windows) {
      if (w.contains(address)) {
        resolvedPrivate = true;
        resolvedFrame = SCRATCH;
        return w.page(address);
      }
    }
    long vpn = address >>> 12;
    int i = (int) vpn & TLB_MASK;
    if (access == Access.WRITE && copyTag[i] == vpn) { // written in an earlier run: copied again, no walk
      copyTag[i] = -1;
      return framePage(copyFrame[i], access);
    }
    return framePage(translator.toPhysical(address, access) >>> 12, access);
  }

  /**
   * The page of physical {@code frame} for {@code access}: its private copy, made on a write if there is none yet; else
   * the shared page. Sets {@link #resolvedPrivate} and {@link #resolvedFrame}.
   */
  private byte[] framePage(long frame, Access access) throws MemoryAccessException {
    resolvedPrivate = true;
    resolvedFrame = frame;
    byte[] own = privateFrames.get(frame);
    if (own != null) {
      return own;
    }
    byte[] shared = shared(frame);
    if (access != Access.WRITE) {
      resolvedPrivate = false;
      return shared;
    }
    byte[] copy = spare.isEmpty() ? new byte[PAGE] : spare.remove(spare.size() - 1);
    System.arraycopy(shared, 0, copy, 0, PAGE);
    privateFrames.put(frame, copy);
    // Other virtual pages may map this frame and still point at the shared copy: they are pointed at the copy.
    aliases.forEach(frame, slot -> {
      if (slot < TLB_SIZE && readPage[slot] == shared) {
        readPage[slot] = copy;
        readPrivate[slot] = true;
        addPrivateSlot(slot);
      } else if (slot >= TLB_SIZE && fetchPage[slot - TLB_SIZE] == shared) {
        fetchPage[slot - TLB_SIZE] = copy;
        fetchPrivate[slot - TLB_SIZE] = true;
        addPrivateSlot(slot - TLB_SIZE);
      }
    });
    return copy;
  }

  /** A physical page as the image and the baseline hold it (read-only). */
  private byte[] shared(long frame) throws MemoryAccessException {
    byte[] written = baseline.isEmpty() ? null : baseline.get(frame);
    return written != null ? written : frames.frame(frame);
  }

  /** Physical pages as this memory sees them: the private copy when there is one, else the image's. */
  private final class PhysicalView implements PhysicalMemory {
    private byte[] page(long frame) throws MemoryAccessException {
      byte[] own = privateFrames.get(frame);
      if (own != null) {
        walkedPrivatePage = true;
        return own;
      }
      return shared(frame);
    }

    @Override
    public boolean hasPage(long pageFrame) {
      return privateFrames.containsKey(pageFrame) || baseline.containsKey(pageFrame) || frames.hasPage(pageFrame);
    }

    @Override
    public void readPage(long pageFrame, byte[] dst, int offset) throws MemoryAccessException {
      System.arraycopy(page(pageFrame), 0, dst, offset, PAGE);
    }

    @Override
    public void read(long address, byte[] dst, int offset, int length) throws MemoryAccessException {
      while (length > 0) {
        int inPage = (int) address & (PAGE - 1);
        int n = Math.min(length, PAGE - inPage);
        System.arraycopy(page(address >>> 12), inPage, dst, offset, n);
        address += n;
        offset += n;
        length -= n;
      }
    }

    @Override
    public long readLong(long address) throws MemoryAccessException {
      int inPage = (int) address & (PAGE - 1);
      if (inPage <= PAGE - 8) {
        return (long) LONG.get(page(address >>> 12), inPage);
      }
      return PhysicalMemory.super.readLong(address);
    }

    @Override
    public void close() {
      // a view: the image belongs to whoever opened it
    }
  }

  /**
   * A multimap from physical frame to TLB entry: open addressing, no removal. An entry refilled since it was added
   * stays, so whoever looks a frame up checks each entry it is given; the owner rebuilds the map when it is
   * {@link #full}.
   */
  static final class FrameSlots {
    private final long[] keys; // frame + 1; 0: empty
    private final int[] slots;
    private final int mask;
    private int size;

    FrameSlots(int capacity) {
      keys = new long[Integer.highestOneBit(capacity - 1) << 1];
      slots = new int[keys.length];
      mask = keys.length - 1;
    }

    /** Half its room taken: adding more would make probes long. */
    boolean full() {
      return size >= keys.length / 2;
    }

    void add(long frame, int slot) {
      int k = hash(frame);
      while (keys[k] != 0) {
        if (keys[k] == frame + 1 && slots[k] == slot) {
          return;
        }
        k = (k + 1) & mask;
      }
      keys[k] = frame + 1;
      slots[k] = slot;
      size++;
    }

    void forEach(long frame, java.util.function.IntConsumer action) {
      for (int k = hash(frame); keys[k] != 0; k = (k + 1) & mask) {
        if (keys[k] == frame + 1) {
          action.accept(slots[k]);
        }
      }
    }

    void clear() {
      if (size > 0) {
        java.util.Arrays.fill(keys, 0);
        size = 0;
      }
    }

    private int hash(long frame) {
      return (int) ((frame * 0x9E3779B97F4A7C15L) >>> 40) & mask;
    }
  }
}
