package io.hybridbridge.taint.testing;

import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.snapshot.ContainerFormat;
import io.hybridbridge.emulator.snapshot.CpuState;
import io.hybridbridge.emulator.snapshot.PhysicalRange;
import io.hybridbridge.emulator.snapshot.Snapshot;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/** A real snapshot seen with a few bytes of guest-physical memory changed (the file is not touched). */
public final class PatchedSnapshot implements Snapshot {
  private final Snapshot base;
  private final TreeMap<Long, Byte> bytes = new TreeMap<>();

  public PatchedSnapshot(Snapshot base) {
    this.base = base;
  }

  /** Replaces the 8 bytes at physical {@code address} by {@code value} (little-endian). */
  public PatchedSnapshot putLong(long address, long value) {
    for (int i = 0; i < 8; i++) {
      bytes.put(address + i, (byte) (value >>> (8 * i)));
    }
    return this;
  }

  @Override
  public void readPage(long pageFrame, byte[] dst, int offset) throws MemoryAccessException {
    base.readPage(pageFrame, dst, offset);
    patch(pageFrame << PAGE_SHIFT, dst, offset, PAGE_SIZE);
  }

  @Override
  public void read(long address, byte[] dst, int offset, int length) throws MemoryAccessException {
    base.read(address, dst, offset, length);
    patch(address, dst, offset, length);
  }

  @Override
  public long readLong(long address) throws MemoryAccessException {
    byte[] b = new byte[8];
    read(address, b, 0, 8);
    return java.nio.ByteBuffer.wrap(b).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
  }

  private void patch(long address, byte[] dst, int offset, int length) {
    for (Map.Entry<Long, Byte> e : bytes.subMap(address, address + length).entrySet()) {
      dst[offset + (int) (e.getKey() - address)] = e.getValue();
    }
  }

  @Override public boolean hasPage(long pageFrame) {
    return base.hasPage(pageFrame);
  }

  @Override public ContainerFormat format() {
    return base.format();
  }

  @Override public String name() {
    return base.name() + " (patched)";
  }

  @Override public long sizeBytes() {
    return base.sizeBytes();
  }

  @Override public List<PhysicalRange> ranges() {
    return base.ranges();
  }

  @Override public List<CpuState> cpus() {
    return base.cpus();
  }

  @Override public Optional<String> vmcoreinfo() {
    return base.vmcoreinfo();
  }

  @Override public void close() {
    base.close();
  }
}
