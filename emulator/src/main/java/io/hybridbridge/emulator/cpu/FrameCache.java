package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.memory.PhysicalMemory;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Read-only copies of an image's physical pages, loaded on first use and shared by every {@link PagedMemory}
 * over that image (thread-safe). Nobody writes these arrays: writes go to a memory's private copies.
 */
public final class FrameCache {
  private final PhysicalMemory image;
  private final Map<Long, byte[]> frames = new ConcurrentHashMap<>();

  public FrameCache(PhysicalMemory image) {
    this.image = image;
  }

  /** The contents of physical page {@code frame} (do not modify the array). */
  byte[] frame(long frame) throws MemoryAccessException {
    byte[] page = frames.get(frame);
    if (page == null) {
      page = new byte[PhysicalMemory.PAGE_SIZE];
      image.readPage(frame, page, 0);
      byte[] raced = frames.putIfAbsent(frame, page);
      if (raced != null) {
        page = raced;
      }
    }
    return page;
  }

  /** Whether the image holds physical page {@code frame}. */
  boolean hasPage(long frame) {
    return frames.containsKey(frame) || image.hasPage(frame);
  }

  /** Number of frames loaded so far. */
  public int size() {
    return frames.size();
  }
}
