package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.memory.AddressTranslator;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.memory.PageFaultException;
import io.hybridbridge.emulator.memory.PhysicalMemory;
import java.util.HashMap;
import java.util.Map;

/**
 * A synthetic memory image for unit tests: physical pages in a map, and an identity translator over them
 * (virtual = physical for every page the image holds; any other page faults as not present).
 */
final class SparseImage implements PhysicalMemory {
  private final Map<Long, byte[]> pages = new HashMap<>();
  int reads;

  /** Copies {@code bytes} to physical address {@code address}, creating zeroed pages as needed. */
  SparseImage put(long address, byte[] bytes) {
    return put(address, bytes, 0, bytes.length);
  }

  SparseImage put(long address, byte[] bytes, int offset, int length) {
    int done = 0;
    while (done < length) {
      long a = address + done;
      int n = Math.min(length - done, PAGE_SIZE - (int) (a & 0xfff));
      System.arraycopy(bytes, offset + done, page(a), (int) (a & 0xfff), n);
      done += n;
    }
    return this;
  }

  /** Makes {@code [address, address+size)} present (zeroed). */
  SparseImage map(long address, long size) {
    for (long a = address & ~0xfffL; a < address + size; a += 4096) {
      page(a);
    }
    return this;
  }

  byte[] get(long address, int length) {
    byte[] out = new byte[length];
    for (int i = 0; i < length; i++) {
      out[i] = page(address + i)[(int) ((address + i) & 0xfff)];
    }
    return out;
  }

  private byte[] page(long address) {
    return pages.computeIfAbsent(address >>> 12, k -> new byte[PAGE_SIZE]);
  }

  @Override
  public boolean hasPage(long pageFrame) {
    return pages.containsKey(pageFrame);
  }

  @Override
  public void readPage(long pageFrame, byte[] dst, int offset) throws MemoryAccessException {
    byte[] p = pages.get(pageFrame);
    if (p == null) {
      throw new MemoryAccessException("no page 0x" + Long.toHexString(pageFrame), pageFrame << 12);
    }
    reads++;
    System.arraycopy(p, 0, dst, offset, PAGE_SIZE);
  }

  /** Identity mapping of the pages this image holds; everything else is not present. */
  AddressTranslator identity() {
    return (va, access) -> {
      if (!pages.containsKey(va >>> 12)) {
        int error = (access == AddressTranslator.Access.WRITE ? 2 : 0)
            | (access == AddressTranslator.Access.EXECUTE ? 16 : 0);
        throw new PageFaultException("not present: 0x" + Long.toHexString(va), va, error);
      }
      return va;
    };
  }

  @Override
  public void close() {}
}
