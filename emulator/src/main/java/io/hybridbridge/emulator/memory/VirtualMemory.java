package io.hybridbridge.emulator.memory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/** Reads guest-virtual memory of one address space: a translator over a physical memory, page by page. */
public final class VirtualMemory {
  private final PhysicalMemory physical;
  private final AddressTranslator translator;

  public VirtualMemory(PhysicalMemory physical, AddressTranslator translator) {
    this.physical = physical;
    this.translator = translator;
  }

  public AddressTranslator translator() {
    return translator;
  }

  /** Copies {@code length} bytes at {@code virtualAddress}, translating each page (supervisor read). */
  public void read(long virtualAddress, byte[] dst, int offset, int length) throws MemoryAccessException {
    while (length > 0) {
      int inPage = (int) (virtualAddress & (PhysicalMemory.PAGE_SIZE - 1));
      int n = Math.min(length, PhysicalMemory.PAGE_SIZE - inPage);
      long physicalAddress = translator.toPhysical(virtualAddress, AddressTranslator.Access.READ);
      physical.read(physicalAddress, dst, offset, n);
      virtualAddress += n;
      offset += n;
      length -= n;
    }
  }

  public byte[] read(long virtualAddress, int length) throws MemoryAccessException {
    byte[] bytes = new byte[length];
    read(virtualAddress, bytes, 0, length);
    return bytes;
  }

  public long readLong(long virtualAddress) throws MemoryAccessException {
    return ByteBuffer.wrap(read(virtualAddress, 8)).order(ByteOrder.LITTLE_ENDIAN).getLong();
  }

  /** Reads a NUL-terminated string of at most {@code maxLength} bytes (without the NUL), as ISO-8859-1. */
  public String readCString(long virtualAddress, int maxLength) throws MemoryAccessException {
    StringBuilder s = new StringBuilder();
    byte[] chunk = new byte[64];
    while (s.length() < maxLength) {
      int n = (int) Math.min(chunk.length, PhysicalMemory.PAGE_SIZE - (virtualAddress & (PhysicalMemory.PAGE_SIZE - 1)));
      read(virtualAddress, chunk, 0, n);
      for (int i = 0; i < n && s.length() < maxLength; i++) {
        if (chunk[i] == 0) {
          return s.toString();
        }
        s.append((char) (chunk[i] & 0xff));
      }
      virtualAddress += n;
    }
    return s.toString();
  }

}
