package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.memory.MemoryAccessException;

/**
 * One of the guest-virtual address spaces a data access can be served from (DESIGN §5.2: the local one, over
 * the trusted reference, and redirected ones). Values are little-endian; sizes 1, 2, 4, 8; reads return the
 * value zero-extended. A {@link io.hybridbridge.emulator.memory.PageFaultException} means the CPU takes a page
 * fault (or #GP for a non-canonical address); any other {@link MemoryAccessException}, or a page fault of kind
 * TABLE_OUTSIDE_IMAGE, means the backing image cannot serve the access.
 *
 * <p>{@link PagedMemory} is the implementation over a memory image; a redirected space (slow/fast path) may
 * wrap another.
 */
public interface AddressSpace {
  long read(long address, int size) throws MemoryAccessException;

  void write(long address, int size, long value) throws MemoryAccessException;

  /** Reads {@code length} bytes; on a fault nothing is guaranteed about {@code dst}. */
  void read(long address, byte[] dst, int offset, int length) throws MemoryAccessException;

  /** Writes {@code length} bytes; every page is checked writable before the first byte is written. */
  void write(long address, byte[] src, int offset, int length) throws MemoryAccessException;

  /**
   * Copies up to {@code length} bytes of code at {@code address} (execute permission) into {@code dst};
   * stops early at a page that cannot be fetched.
   *
   * @return the number of bytes copied, at least one
   * @throws MemoryAccessException when not even the first byte can be fetched
   */
  int fetch(long address, byte[] dst, int length) throws MemoryAccessException;

  /** Drops cached translations of the page holding {@code address} (invlpg). */
  void invalidate(long address);

  /** Drops all cached translations (CR3 or CR4 write). */
  void flush();
}
