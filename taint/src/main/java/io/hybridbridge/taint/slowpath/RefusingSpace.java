package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.cpu.AddressSpace;
import io.hybridbridge.emulator.memory.MemoryAccessException;

/**
 * An address space that fails every access with the reason a router set: how a router stops the run (the CPU
 * stops with a memory error, which the kernel's exception table cannot catch, and the message carries the reason).
 */
public final class RefusingSpace implements AddressSpace {
  private String reason = "refused";

  void setReason(String reason) {
    this.reason = reason;
  }

  private MemoryAccessException refuse(long address) {
    return new MemoryAccessException(reason, address);
  }

  @Override public long read(long address, int size) throws MemoryAccessException {
    throw refuse(address);
  }

  @Override public void write(long address, int size, long value) throws MemoryAccessException {
    throw refuse(address);
  }

  @Override public void read(long address, byte[] dst, int offset, int length) throws MemoryAccessException {
    throw refuse(address);
  }

  @Override public void write(long address, byte[] src, int offset, int length) throws MemoryAccessException {
    throw refuse(address);
  }

  @Override public int fetch(long address, byte[] dst, int length) throws MemoryAccessException {
    throw refuse(address);
  }

  @Override public void invalidate(long address) {}

  @Override public void flush() {}
}
