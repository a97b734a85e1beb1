package io.hybridbridge.emulator.snapshot;

import io.hybridbridge.emulator.memory.MemoryAccessException;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/** A snapshot whose memory is stored uncompressed in file segments: ELF core, LiME, raw. */
final class SegmentSnapshot implements Snapshot {
  private final ByteSource source;
  private final ContainerFormat format;
  private final SegmentTable segments;
  private final List<PhysicalRange> ranges;
  private final List<CpuState> cpus;
  private final Optional<String> vmcoreinfo;

  SegmentSnapshot(ByteSource source, ContainerFormat format, SegmentTable segments, List<CpuState> cpus,
      Optional<String> vmcoreinfo) {
    this.source = source;
    this.format = format;
    this.segments = segments;
    this.ranges = segments.ranges();
    this.cpus = List.copyOf(cpus);
    this.vmcoreinfo = vmcoreinfo;
  }

  @Override
  public ContainerFormat format() {
    return format;
  }

  @Override
  public String name() {
    return source.name();
  }

  @Override
  public long sizeBytes() {
    return source.size();
  }

  @Override
  public List<PhysicalRange> ranges() {
    return ranges;
  }

  @Override
  public List<CpuState> cpus() {
    return cpus;
  }

  @Override
  public Optional<String> vmcoreinfo() {
    return vmcoreinfo;
  }

  @Override
  public boolean hasPage(long pageFrame) {
    return segments.hasPage(pageFrame);
  }

  @Override
  public void readPage(long pageFrame, byte[] dst, int offset) throws MemoryAccessException {
    if (!hasPage(pageFrame)) {
      throw new MemoryAccessException(String.format("physical page %#x is not in %s (a hole)",
          pageFrame << PAGE_SHIFT, source.name()), pageFrame << PAGE_SHIFT);
    }
    segments.read(source, pageFrame << PAGE_SHIFT, dst, offset, PAGE_SIZE);
  }

  @Override
  public void read(long address, byte[] dst, int offset, int length) throws MemoryAccessException {
    segments.read(source, address, dst, offset, length);
  }

  @Override
  public void close() {
    try {
      source.close();
    } catch (IOException e) {
      // Read-only source: nothing was written, so a failing close loses nothing.
    }
  }
}
