package io.hybridbridge.emulator.snapshot;

import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.BAD_HEADER;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.TOO_LARGE;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.TRUNCATED;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.UNSUPPORTED;
import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.WRONG_ARCHITECTURE;

import io.hybridbridge.emulator.memory.MemoryAccessException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * kdump-compressed ("diskdump") file as QEMU's {@code kdump-zlib} and makedumpfile write it: block 0 the
 * disk_dump_header ("KDUMP   "), block 1 the kdump sub-header followed by the ELF notes, then two page bitmaps
 * (all RAM; pages dumped), then one 24-byte page descriptor per dumped page in frame order (u64 offset, u32 size,
 * u32 flags, u64 page flags), then the page data (zlib when the descriptor says so).
 *
 * <p>Held in memory: a rank index over the dumped-pages bitmap (8 bytes per 4096 frames, i.e. per 16 MiB of guest
 * RAM) and a bounded cache of inflated pages. Everything else is read on demand.
 */
final class KdumpSnapshot implements Snapshot {
  static final byte[] SIGNATURE = "KDUMP   ".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER_SIZE = 464;
  private static final int SUB_HEADER_SIZE = 104;
  private static final int DESCRIPTOR_SIZE = 24;
  private static final int RANK_BLOCK_BITS = 4096;
  private static final int FLAG_ZLIB = 0x1;
  private static final int FLAG_OTHER_COMPRESSION = 0x2 | 0x4 | 0x20; // lzo, snappy, zstd
  /** 2^40 frames = 4 PiB of guest memory: more is not a real dump. */
  private static final long MAX_FRAMES = 1L << 40;
  private static final int CACHE_PAGES = 1024;
  /** One inflater per thread, reset per page: creating one per page costs native allocations. */
  private static final ThreadLocal<Inflater> INFLATER = ThreadLocal.withInitial(Inflater::new);

  private final ByteSource source;
  private final long sizeBytes;
  private final long maxFrames;
  private final long bitmapOffset;
  private final long descriptorsOffset;
  private final long[] rankBefore;
  private final List<PhysicalRange> ranges;
  private final List<CpuState> cpus;
  private final Optional<String> vmcoreinfo;
  private final Map<Long, byte[]> cache = new LinkedHashMap<>(CACHE_PAGES, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
      return size() > CACHE_PAGES;
    }
  };

  private KdumpSnapshot(ByteSource source, long sizeBytes, long maxFrames, long bitmapOffset, long descriptorsOffset,
      long[] rankBefore, List<PhysicalRange> ranges, ElfNotes notes) {
    this.source = source;
    this.sizeBytes = sizeBytes;
    this.maxFrames = maxFrames;
    this.bitmapOffset = bitmapOffset;
    this.descriptorsOffset = descriptorsOffset;
    this.rankBefore = rankBefore;
    this.ranges = ranges;
    this.cpus = notes.cpus();
    this.vmcoreinfo = notes.vmcoreinfo();
  }

  /**
   * Opens a kdump file laid out as on disk; {@code sizeBytes} is the size of the container file (which differs
   * from {@code source.size()} for a flattened stream).
   */
  static KdumpSnapshot open(ByteSource source, long sizeBytes) throws IOException, SnapshotFormatException {
    String name = source.name();
    if (source.size() < HEADER_SIZE) {
      throw new SnapshotFormatException(TRUNCATED, name + ": kdump header needs " + HEADER_SIZE + " bytes");
    }
    ByteBuffer h = source.read(0, HEADER_SIZE);
    int headerVersion = h.getInt(8);
    String machine = cString(h, 12 + 4 * 65, 65);
    int status = h.getInt(424);
    int blockSize = h.getInt(428);
    long subHeaderBlocks = Integer.toUnsignedLong(h.getInt(432));
    long bitmapBlocks = Integer.toUnsignedLong(h.getInt(436));
    long maxFrames = Integer.toUnsignedLong(h.getInt(440));
    if (!machine.isEmpty() && !machine.equals("x86_64")) {
      throw new SnapshotFormatException(WRONG_ARCHITECTURE, name + ": kdump of machine \"" + machine + "\", not x86_64");
    }
    if (blockSize != Snapshot.PAGE_SIZE) {
      throw new SnapshotFormatException(UNSUPPORTED, name + ": kdump block size " + blockSize + " (only 4096 is handled)");
    }
    if ((status & FLAG_OTHER_COMPRESSION) != 0) {
      throw new SnapshotFormatException(UNSUPPORTED, String.format(
          "%s: kdump compression flags %#x: only zlib (and uncompressed) pages are handled", name, status));
    }
    if (!source.contains(blockSize, SUB_HEADER_SIZE)) {
      throw new SnapshotFormatException(TRUNCATED, name + ": kdump sub-header is past the end of the file");
    }
    ByteBuffer sub = source.read(blockSize, SUB_HEADER_SIZE);
    if (headerVersion >= 6) {
      maxFrames = sub.getLong(96);
    }
    // A real bitmap spends one stored bit per frame, so a file cannot describe more than 8 frames per byte: this
    // bounds the work and memory below even when a flattened stream claims a huge sparse logical size.
    if (maxFrames <= 0 || maxFrames > MAX_FRAMES || maxFrames / 8 > sizeBytes) {
      throw new SnapshotFormatException(TOO_LARGE, String.format(
          "%s: kdump max_mapnr %d is absurd for a %d-byte file", name, maxFrames, sizeBytes));
    }
    long bitmapBytes = bitmapBlocks / 2 * blockSize;
    if (bitmapBlocks == 0 || bitmapBlocks % 2 != 0 || bitmapBytes * 8 < maxFrames) {
      throw new SnapshotFormatException(BAD_HEADER, String.format(
          "%s: kdump bitmaps of %d blocks cannot cover %d page frames", name, bitmapBlocks, maxFrames));
    }
    long bitmapOffset = (1 + subHeaderBlocks) * blockSize + bitmapBytes; // the second bitmap: pages dumped
    long descriptorsOffset = (1 + subHeaderBlocks + bitmapBlocks) * blockSize;
    if (!source.contains(bitmapOffset, bitmapBytes)) {
      throw new SnapshotFormatException(TRUNCATED, String.format(
          "%s: kdump bitmap (%d bytes at offset %d) is past the end of the file", name, bitmapBytes, bitmapOffset));
    }
    ElfNotes notes = headerVersion >= 4 ? readNotes(source, sub) : new ElfNotes(List.of(), Optional.empty());

    int blocks = (int) ((maxFrames + RANK_BLOCK_BITS - 1) / RANK_BLOCK_BITS);
    long[] rankBefore = new long[blocks + 1];
    List<PhysicalRange> ranges = new ArrayList<>();
    long runStart = -1;
    byte[] chunk = new byte[RANK_BLOCK_BITS / 8];
    for (int b = 0; b < blocks; b++) {
      source.readFully(bitmapOffset + (long) b * chunk.length, chunk, 0, chunk.length);
      long count = 0;
      for (int bit = 0; bit < RANK_BLOCK_BITS; bit++) {
        long frame = (long) b * RANK_BLOCK_BITS + bit;
        boolean set = frame < maxFrames && (chunk[bit >>> 3] & (1 << (bit & 7))) != 0;
        if (set) {
          count++;
          if (runStart < 0) {
            runStart = frame;
          }
        } else if (runStart >= 0) {
          ranges.add(new PhysicalRange(runStart << PAGE_SHIFT, (frame - runStart) << PAGE_SHIFT));
          runStart = -1;
        }
      }
      rankBefore[b + 1] = rankBefore[b] + count;
    }
    if (runStart >= 0) {
      ranges.add(new PhysicalRange(runStart << PAGE_SHIFT, (maxFrames - runStart) << PAGE_SHIFT));
    }
    long dumped = rankBefore[blocks];
    if (!source.contains(descriptorsOffset, dumped * DESCRIPTOR_SIZE)) {
      throw new SnapshotFormatException(TRUNCATED, String.format(
          "%s: %d page descriptors at offset %d run past the end of the file", name, dumped, descriptorsOffset));
    }
    if (dumped > 0) {
      // Page data follows the descriptors in frame order, so a file cut short loses the last page's data first;
      // saying so here names the real cause instead of a hole in the page tables found much later.
      ByteBuffer last = source.read(descriptorsOffset + (dumped - 1) * DESCRIPTOR_SIZE, DESCRIPTOR_SIZE);
      long dataOffset = last.getLong(0);
      int dataSize = last.getInt(8);
      if (dataOffset >= 0 && dataSize > 0 && !source.contains(dataOffset, dataSize)) {
        throw new SnapshotFormatException(TRUNCATED, String.format(
            "%s: the last dumped page's data (%d bytes at offset %d) is past the end of the %d-byte file", name,
            dataSize, dataOffset, source.size()));
      }
    }
    return new KdumpSnapshot(source, sizeBytes, maxFrames, bitmapOffset, descriptorsOffset, rankBefore,
        List.copyOf(ranges), notes);
  }

  private static ElfNotes readNotes(ByteSource source, ByteBuffer sub) throws IOException, SnapshotFormatException {
    long offset = sub.getLong(48);
    long size = sub.getLong(56);
    if (size == 0) {
      return new ElfNotes(List.of(), Optional.empty());
    }
    if (size < 0 || size > ElfNotes.MAX_BYTES) {
      throw new SnapshotFormatException(TOO_LARGE, source.name() + ": kdump notes of " + size + " bytes");
    }
    if (!source.contains(offset, size)) {
      throw new SnapshotFormatException(TRUNCATED, String.format(
          "%s: kdump notes (%d bytes at offset %d) are past the end of the file", source.name(), size, offset));
    }
    byte[] blob = new byte[(int) size];
    source.readFully(offset, blob, 0, blob.length);
    return ElfNotes.parse(blob, source.name());
  }

  private static String cString(ByteBuffer b, int at, int max) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < max && b.get(at + i) != 0; i++) {
      s.append((char) (b.get(at + i) & 0xff));
    }
    return s.toString();
  }

  @Override
  public ContainerFormat format() {
    return ContainerFormat.KDUMP;
  }

  @Override
  public String name() {
    return source.name();
  }

  @Override
  public long sizeBytes() {
    return sizeBytes;
  }

  @Override
  public List<PhysicalRange> ranges() {
    return ranges;
  }

  @Override
  public List<CpuState> cpus() {
    return cpus;
  }

  @Override
  public Optional<String> vmcoreinfo() {
    return vmcoreinfo;
  }

  @Override
  public boolean hasPage(long pageFrame) {
    try {
      return pageFrame >= 0 && pageFrame < maxFrames && bit(pageFrame);
    } catch (IOException e) {
      return false;
    }
  }

  private boolean bit(long frame) throws IOException {
    byte[] b = new byte[1];
    source.readFully(bitmapOffset + (frame >>> 3), b, 0, 1);
    return (b[0] & (1 << (frame & 7))) != 0;
  }

  /** Index of the frame's descriptor: the number of dumped frames before it. */
  private long rank(long frame) throws IOException {
    int block = (int) (frame / RANK_BLOCK_BITS);
    long firstInBlock = (long) block * RANK_BLOCK_BITS;
    int bits = (int) (frame - firstInBlock);
    byte[] chunk = new byte[(bits + 7) / 8];
    source.readFully(bitmapOffset + firstInBlock / 8, chunk, 0, chunk.length);
    long count = rankBefore[block];
    int whole = bits / 8;
    for (int i = 0; i < whole; i++) {
      count += Integer.bitCount(chunk[i] & 0xff);
    }
    if (bits % 8 != 0) {
      count += Integer.bitCount(chunk[whole] & ((1 << (bits % 8)) - 1));
    }
    return count;
  }

  @Override
  public void readPage(long pageFrame, byte[] dst, int offset) throws MemoryAccessException {
    long address = pageFrame << PAGE_SHIFT;
    if (!hasPage(pageFrame)) {
      throw new MemoryAccessException(String.format("physical page %#x is not in %s (a hole)", address, name()),
          address);
    }
    byte[] page;
    synchronized (cache) {
      page = cache.get(pageFrame);
    }
    if (page == null) {
      page = load(pageFrame, address);
      synchronized (cache) {
        cache.put(pageFrame, page);
      }
    }
    System.arraycopy(page, 0, dst, offset, PAGE_SIZE);
  }

  private byte[] load(long frame, long address) throws MemoryAccessException {
    try {
      ByteBuffer d = source.read(descriptorsOffset + rank(frame) * DESCRIPTOR_SIZE, DESCRIPTOR_SIZE);
      long dataOffset = d.getLong(0);
      int size = d.getInt(8);
      int flags = d.getInt(12);
      if (size <= 0 || size > PAGE_SIZE || !source.contains(dataOffset, size)) {
        throw new MemoryAccessException(String.format(
            "physical page %#x in %s: page descriptor says %d bytes at offset %d, outside the file", address, name(),
            size, dataOffset), address);
      }
      byte[] stored = new byte[size];
      source.readFully(dataOffset, stored, 0, size);
      if ((flags & FLAG_ZLIB) != 0) {
        return inflate(stored, address);
      }
      if ((flags & FLAG_OTHER_COMPRESSION) != 0) {
        throw new MemoryAccessException(String.format("physical page %#x in %s: compression flags %#x not handled",
            address, name(), flags), address);
      }
      if (size != PAGE_SIZE) {
        throw new MemoryAccessException(String.format(
            "physical page %#x in %s: uncompressed page of %d bytes", address, name(), size), address);
      }
      return stored;
    } catch (IOException e) {
      throw new MemoryAccessException(String.format("physical page %#x cannot be read from %s: %s", address, name(),
          e.getMessage()), address, e);
    }
  }

  private byte[] inflate(byte[] stored, long address) throws MemoryAccessException {
    Inflater inflater = INFLATER.get();
    inflater.reset();
    try {
      inflater.setInput(stored);
      byte[] page = new byte[PAGE_SIZE];
      int n = inflater.inflate(page);
      if (n != PAGE_SIZE || !inflater.finished()) {
        throw new MemoryAccessException(String.format(
            "physical page %#x in %s: zlib data inflates to %d bytes, not one whole page", address, name(), n), address);
      }
      return page;
    } catch (DataFormatException e) {
      throw new MemoryAccessException(String.format("physical page %#x in %s: zlib data does not inflate: %s",
          address, name(), e.getMessage()), address, e);
    }
  }

  @Override
  public void close() {
    try {
      source.close();
    } catch (IOException e) {
      // Read-only source: nothing to lose.
    }
  }
}
