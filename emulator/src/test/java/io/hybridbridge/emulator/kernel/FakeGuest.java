package io.hybridbridge.emulator.kernel;

import io.hybridbridge.emulator.memory.MemoryAccessException;
import io.hybridbridge.emulator.memory.PageTables;
import io.hybridbridge.emulator.memory.SparseMemory;
import io.hybridbridge.emulator.snapshot.CpuState;
import io.hybridbridge.emulator.snapshot.PhysicalRange;
import io.hybridbridge.emulator.snapshot.SegmentRegister;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.ContainerFormat;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A tiny synthetic guest laid out like a KASLR'd x86-64 Linux (direct map, vmalloc, vmemmap, a 4 MiB "image"
 * holding decoy and real banners and a build-id note), for unit tests of the layout finder. The real thing is
 * tested on the default dataset.
 */
final class FakeGuest implements Snapshot {
  static final String BANNER = "Linux version 6.1.0-99-test (x@y) (gcc) #1 SMP PREEMPT_DYNAMIC Debian 6.1.999-1 (2099-01-01)";
  static final String BUILD_ID = "00112233445566778899aabbccddeeff01234567";
  static final long TEXT = 0xffffffffa6000000L;
  static final long LOAD = 0x1c00000;
  static final long POB = 0xffff8e1b80000000L;
  static final long VMALLOC = 0xffffd07900000000L;
  static final long VMEMMAP = 0xfffff40d40000000L;
  static final long PHYS_END = 0x4000000; // 64 MiB "RAM" (pages exist only where written)
  static final long PER_CPU = POB + 0x3800000;

  final SparseMemory memory = new SparseMemory();
  final PageTables tables;
  private final List<CpuState> cpus = new ArrayList<>();

  FakeGuest(boolean withCpuState, boolean ptiUserMode) {
    tables = new PageTables(memory, 4, 0x3000000);
    tables.mapRange(TEXT, LOAD, 4L << 20, 1L << 21, PageTables.P);
    tables.mapRange(POB, 0, PHYS_END, 1L << 21, PageTables.P | PageTables.RW | PageTables.NX);
    tables.map(VMALLOC + 0x1000, 0x2000000, 4096, PageTables.P | PageTables.RW);
    tables.map(VMALLOC + (20L << 40), 0x2001000, 4096, PageTables.P | PageTables.RW); // deep in vmalloc
    tables.map(VMEMMAP, 0x2200000, 1L << 21, PageTables.P | PageTables.RW);
    tables.map(0xffffffffc0001000L, 0x2002000, 4096, PageTables.P); // a module
    for (long f = LOAD >>> 12; f < (LOAD + (4L << 20)) >>> 12; f++) {
      memory.page(f); // the image is in RAM
    }
    // The image: a decoy banner without build number, then the real one, then a build-id note.
    put(LOAD + 0x100000 + 1, "Linux version 6.1.0-99-test (decoy)\n\0".getBytes(StandardCharsets.US_ASCII));
    put(LOAD + 0x200000, ("\0" + BANNER + "\n\0").getBytes(StandardCharsets.US_ASCII));
    ByteBuffer note = ByteBuffer.allocate(36).order(ByteOrder.LITTLE_ENDIAN).putInt(4).putInt(20).putInt(3);
    note.put("GNU\0".getBytes(StandardCharsets.US_ASCII)).put(java.util.HexFormat.of().parseHex(BUILD_ID));
    put(LOAD + 0x300000, note.array());
    // Before it, a vDSO-like embedded ELF image whose own PT_NOTE holds another build-id (a decoy).
    ByteBuffer vdso = ByteBuffer.allocate(0x600).order(ByteOrder.LITTLE_ENDIAN);
    vdso.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1}).putLong(32, 64).putShort(54, (short) 56).putShort(56, (short) 1);
    vdso.putInt(64, 4).putLong(64 + 8, 0x554).putLong(64 + 32, 36); // PT_NOTE at 0x554, 36 bytes
    vdso.position(0x554);
    vdso.putInt(4).putInt(20).putInt(3).put("GNU\0".getBytes(StandardCharsets.US_ASCII)).put(new byte[20]);
    put(LOAD + 0x2ff000, vdso.array());
    // A copy of the banner outside the image (like the log buffer), found first by a naive scan.
    put(0x10000, ("\0" + BANNER.replace("#1", "#7") + "\n\0").getBytes(StandardCharsets.US_ASCII));
    for (long f = 0; f < (PHYS_END >>> 12); f += 256) {
      memory.page(f); // make RAM present here and there
    }
    if (withCpuState) {
      long cr3 = tables.root | (ptiUserMode ? CpuState.CR3_PTI_USER : 0);
      if (ptiUserMode) {
        memory.page((tables.root >>> 12) + 1); // the user half: an empty PGD
      }
      SegmentRegister cs = new SegmentRegister(ptiUserMode ? 0x33 : 0x10, 0, 0, 0);
      SegmentRegister gs = new SegmentRegister(0, 0, 0, ptiUserMode ? 0x7f0000000000L : PER_CPU);
      SegmentRegister none = SegmentRegister.NONE;
      cpus.add(new CpuState(0, CpuState.Origin.QEMU_NOTE, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
          TEXT, 0x246, cs, none, none, none, gs, none, none, none, none, none, 0x80050033L, 0, cr3, 0x6b0,
          ptiUserMode ? PER_CPU : 0));
    }
  }

  void put(long physical, byte[] bytes) {
    memory.put(physical, bytes);
  }

  @Override
  public ContainerFormat format() {
    return ContainerFormat.RAW;
  }

  @Override
  public String name() {
    return "fake-guest";
  }

  @Override
  public long sizeBytes() {
    return PHYS_END;
  }

  @Override
  public List<PhysicalRange> ranges() {
    List<PhysicalRange> ranges = new ArrayList<>();
    for (long f : memory.pages().keySet()) {
      ranges.add(new PhysicalRange(f << 12, 4096));
    }
    return ranges;
  }

  @Override
  public List<CpuState> cpus() {
    return cpus;
  }

  @Override
  public Optional<String> vmcoreinfo() {
    return Optional.empty();
  }

  @Override
  public boolean hasPage(long pageFrame) {
    return memory.hasPage(pageFrame);
  }

  @Override
  public void readPage(long pageFrame, byte[] dst, int offset) throws MemoryAccessException {
    memory.readPage(pageFrame, dst, offset);
  }

  @Override
  public void close() {}
}
