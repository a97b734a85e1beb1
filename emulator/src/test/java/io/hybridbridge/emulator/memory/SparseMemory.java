package io.hybridbridge.emulator.memory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.TreeMap;

/** Test physical memory: pages that exist only once written; everything else is a hole. */
public class SparseMemory implements PhysicalMemory {
  private final TreeMap<Long, byte[]> pages = new TreeMap<>();

  public byte[] page(long frame) {
    return pages.computeIfAbsent(frame, f -> new byte[PAGE_SIZE]);
  }

  public TreeMap<Long, byte[]> pages() {
    return pages;
  }

  public void putLong(long address, long value) {
    ByteBuffer.wrap(page(address >>> PAGE_SHIFT)).order(ByteOrder.LITTLE_ENDIAN)
        .putLong((int) (address & (PAGE_SIZE - 1)), value);
  }

  public void put(long address, byte[] bytes) {
    for (int i = 0; i < bytes.length; i++) {
      page((address + i) >>> PAGE_SHIFT)[(int) ((address + i) & (PAGE_SIZE - 1))] = bytes[i];
    }
  }

  @Override
  public boolean hasPage(long pageFrame) {
    return pages.containsKey(pageFrame);
  }

  @Override
  public void readPage(long pageFrame, byte[] dst, int offset) throws MemoryAccessException {
    byte[] p = pages.get(pageFrame);
    if (p == null) {
      throw new MemoryAccessException("hole at " + Long.toHexString(pageFrame << PAGE_SHIFT), pageFrame << PAGE_SHIFT);
    }
    System.arraycopy(p, 0, dst, offset, PAGE_SIZE);
  }

  @Override
  public void close() {}
}
