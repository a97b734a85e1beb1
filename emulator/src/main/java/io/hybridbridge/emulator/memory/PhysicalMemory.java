package io.hybridbridge.emulator.memory;

/**
 * Guest-physical memory of one memory image, served by 4 KiB page without loading the image.
 *
 * <p>This is the seam between the snapshot readers (which implement it per container format) and the
 * virtual-memory side of the emulator (which maps guest pages copy-on-write over it). Implementations are
 * read-only: nothing ever writes to a snapshot.
 */
public interface PhysicalMemory extends AutoCloseable {
  int PAGE_SHIFT = 12;
  int PAGE_SIZE = 1 << PAGE_SHIFT;

  /** Whether the image holds the page with this frame number (physical address >> 12). */
  boolean hasPage(long pageFrame);

  /**
   * Copies the page with frame number {@code pageFrame} into {@code dst[offset .. offset+4095]}.
   *
   * @throws MemoryAccessException when the image does not hold that page (a hole is an error, never zeros)
   *     or the page cannot be read (e.g. a compressed page that does not inflate)
   */
  void readPage(long pageFrame, byte[] dst, int offset) throws MemoryAccessException;

  /**
   * Copies {@code length} bytes of guest-physical memory starting at {@code address} (may span pages).
   * Implementations that can read sub-page ranges directly override this.
   *
   * @throws MemoryAccessException when any byte is not in the image or cannot be read
   */
  default void read(long address, byte[] dst, int offset, int length) throws MemoryAccessException {
    byte[] page = new byte[PAGE_SIZE];
    while (length > 0) {
      int inPage = (int) (address & (PAGE_SIZE - 1));
      int n = Math.min(length, PAGE_SIZE - inPage);
      readPage(address >>> PAGE_SHIFT, page, 0);
      System.arraycopy(page, inPage, dst, offset, n);
      address += n;
      offset += n;
      length -= n;
    }
  }

  /** Reads the little-endian 64-bit value at {@code address}. */
  default long readLong(long address) throws MemoryAccessException {
    byte[] b = new byte[8];
    read(address, b, 0, 8);
    return java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
  }

  @Override
  void close();
}
