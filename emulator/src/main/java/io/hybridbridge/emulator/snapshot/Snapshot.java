package io.hybridbridge.emulator.snapshot;

import io.hybridbridge.emulator.memory.PhysicalMemory;
import java.util.List;
import java.util.Optional;

/**
 * One opened memory snapshot: its guest-physical memory (by page, lazily, read-only), the vCPU states its
 * container recorded, and metadata. Open one with {@link Snapshots#open}.
 */
public interface Snapshot extends PhysicalMemory {
  ContainerFormat format();

  /** Where it came from (path or URI), for messages. */
  String name();

  /** Size of the container file in bytes. */
  long sizeBytes();

  /** The guest-physical memory present, sorted, adjacent runs merged. */
  List<PhysicalRange> ranges();

  /** vCPU states in CPU order; empty when the container has none (LiME, raw without sidecar). */
  List<CpuState> cpus();

  /** The guest's VMCOREINFO text when the dump carries it. */
  Optional<String> vmcoreinfo();

  /** One past the highest guest-physical address present. */
  default long physicalEnd() {
    List<PhysicalRange> ranges = ranges();
    return ranges.isEmpty() ? 0 : ranges.get(ranges.size() - 1).end();
  }

  /** Bytes of guest-physical memory present. */
  default long physicalBytes() {
    return ranges().stream().mapToLong(PhysicalRange::length).sum();
  }
}
