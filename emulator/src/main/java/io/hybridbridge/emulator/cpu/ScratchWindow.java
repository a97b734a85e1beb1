package io.hybridbridge.emulator.cpu;

import java.nio.charset.StandardCharsets;

/**
 * A range of guest-virtual memory served from Java memory instead of the image: user buffers and path
 * strings that the emulated kernel reads and writes with its own copy_from_user / copy_to_user.
 * Readable and writable by the guest at any privilege; no page tables are involved.
 */
public final class ScratchWindow {
  private final long base;
  private final long size;
  private final byte[][] pages;

  ScratchWindow(long base, long size) {
    if ((base & 0xfff) != 0 || size <= 0 || (size & 0xfff) != 0 || size > (1L << 30)) {
      throw new IllegalArgumentException(
          "scratch window must be page-aligned, non-empty and at most 1 GiB: base 0x%x size 0x%x"
              .formatted(base, size));
    }
    this.base = base;
    this.size = size;
    this.pages = new byte[(int) (size >>> 12)][];
  }

  public long base() {
    return base;
  }

  public long size() {
    return size;
  }

  public boolean contains(long address) {
    return address - base >= 0 && address - base < size;
  }

  boolean overlaps(long otherBase, long otherSize) {
    return otherBase < base + size && base < otherBase + otherSize;
  }

  /** The backing page of {@code address} (allocated zeroed on first use). */
  byte[] page(long address) {
    int i = (int) ((address - base) >>> 12);
    byte[] p = pages[i];
    if (p == null) {
      p = pages[i] = new byte[4096];
    }
    return p;
  }

  /** Zeroes the window (its pages are allocated again on first use). */
  void clear() {
    java.util.Arrays.fill(pages, null);
  }

  /** A copy of the window's pages (null: never written, zero). */
  byte[][] contents() {
    byte[][] copy = new byte[pages.length][];
    for (int i = 0; i < pages.length; i++) {
      copy[i] = pages[i] == null ? null : pages[i].clone();
    }
    return copy;
  }

  /** Gives the window {@code contents} (copied; null: zeroed). */
  void restore(byte[][] contents) {
    if (contents == null) {
      clear();
      return;
    }
    for (int i = 0; i < pages.length; i++) {
      pages[i] = contents[i] == null ? null : contents[i].clone();
    }
  }

  /** Copies {@code data} into the window at {@code address}. */
  public void put(long address, byte[] data) {
    copy(address, data, true);
  }

  /** Writes a NUL-terminated string (UTF-8) at {@code address}. */
  public void putString(long address, String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    byte[] z = new byte[b.length + 1];
    System.arraycopy(b, 0, z, 0, b.length);
    put(address, z);
  }

  /** Copies {@code length} bytes at {@code address} out of the window. */
  public byte[] get(long address, int length) {
    byte[] out = new byte[length];
    copy(address, out, false);
    return out;
  }

  /** Copies {@code buffer} into the window at {@code address} (or out of it), page by page. */
  private void copy(long address, byte[] buffer, boolean intoWindow) {
    check(address, buffer.length);
    for (int done = 0; done < buffer.length; ) {
      long a = address + done;
      int offset = (int) a & 0xfff;
      int n = Math.min(buffer.length - done, 4096 - offset);
      if (intoWindow) {
        System.arraycopy(buffer, done, page(a), offset, n);
      } else {
        System.arraycopy(page(a), offset, buffer, done, n);
      }
      done += n;
    }
  }

  private void check(long address, int length) {
    if (length < 0 || !contains(address) || (length > 0 && !contains(address + length - 1))) {
      throw new IllegalArgumentException("0x%x+%d is outside the scratch window 0x%x+0x%x"
          .formatted(address, length, base, size));
    }
  }
}
