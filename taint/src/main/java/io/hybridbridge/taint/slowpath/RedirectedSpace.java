package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.cpu.AddressSpace;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.taint.layout.UThroughT;

/**
 * The CPU's redirected address space: the snapshot being inspected, seen through T's layout ({@link UThroughT}).
 * The CPU keeps its address spaces for life, so one machine inspecting snapshot after snapshot swaps the target
 * here ({@link #inspect}); between inspections every access is an error.
 */
final class RedirectedSpace implements AddressSpace {
  private UThroughT target;

  void inspect(UThroughT untrusted) {
    this.target = untrusted;
  }

  /** The value of the last 8-byte read (for the taint domain's pointer test). */
  long lastRead() {
    return target == null ? 0 : target.lastRead();
  }

  private UThroughT target(long address) throws MemoryAccessException {
    if (target == null) {
      throw new MemoryAccessException("redirected access with no snapshot under inspection", address);
    }
    return target;
  }

  @Override
  public long read(long address, int size) throws MemoryAccessException {
    return target(address).read(address, size);
  }

  @Override
  public void write(long address, int size, long value) throws MemoryAccessException {
    target(address).write(address, size, value);
  }

  @Override
  public void read(long address, byte[] dst, int offset, int length) throws MemoryAccessException {
    target(address).read(address, dst, offset, length);
  }

  @Override
  public void write(long address, byte[] src, int offset, int length) throws MemoryAccessException {
    target(address).write(address, src, offset, length);
  }

  @Override
  public int fetch(long address, byte[] dst, int length) throws MemoryAccessException {
    return target(address).fetch(address, dst, length);
  }

  @Override
  public void invalidate(long address) {
    if (target != null) {
      target.invalidate(address);
    }
  }

  @Override
  public void flush() {
    if (target != null) {
      target.flush();
    }
  }
}
