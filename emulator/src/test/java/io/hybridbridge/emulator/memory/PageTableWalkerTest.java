package io.hybridbridge.emulator.memory;

import static io.hybridbridge.emulator.memory.PageTables.NX;
import static io.hybridbridge.emulator.memory.PageTables.P;
import static io.hybridbridge.emulator.memory.PageTables.RW;
import static io.hybridbridge.emulator.memory.PageTables.US;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.emulator.memory.AddressTranslator.Access;
import io.hybridbridge.emulator.memory.PageFaultException.Kind;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PageTableWalkerTest {
  private static final long KIB4 = 1L << 12;
  private static final long MIB2 = 1L << 21;
  private static final long GIB = 1L << 30;

  private final SparseMemory memory = new SparseMemory();

  private PageFaultException fault(PageTableWalker w, long va, Access access, boolean user) {
    try {
      w.toPhysical(va, access, user);
    } catch (PageFaultException e) {
      return e;
    }
    throw new AssertionError("no fault at " + Long.toHexString(va));
  }

  @Test
  void translatesAllPageSizesIn4Levels() throws Exception {
    PageTables t = new PageTables(memory, 4, 0x100000)
        .map(0xffffffff81000000L + 5 * KIB4, 0x7000, KIB4, P | RW)
        .map(0xffffffffa0000000L, 0x6400000, MIB2, P)
        .map(0xffff888000000000L, 0, GIB, P | RW | NX);
    PageTableWalker w = new PageTableWalker(memory, t.root, 4, true);
    assertThat(w.toPhysical(0xffffffff81005123L, Access.READ)).isEqualTo(0x7123);
    assertThat(w.toPhysical(0xffffffffa01fffffL, Access.EXECUTE)).isEqualTo(0x65fffffL);
    assertThat(w.toPhysical(0xffff888012345678L, Access.WRITE)).isEqualTo(0x12345678L);
    Mapping m = w.walk(0xffffffffa0001000L, Access.READ, false);
    assertThat(m.size()).isEqualTo(MIB2);
    assertThat(m.virtualBase()).isEqualTo(0xffffffffa0000000L);
    assertThat(m.writable()).isFalse();
  }

  @Test
  void largePagePatBitIsNotPartOfTheAddress() throws Exception {
    PageTables t = new PageTables(memory, 4, 0x100000).map(0xffffffffa0000000L, 0x6400000 | (1 << 12), MIB2, P);
    PageTableWalker w = new PageTableWalker(memory, t.root, 4, true);
    assertThat(w.toPhysical(0xffffffffa0000010L, Access.READ)).isEqualTo(0x6400010L);
  }

  @Test
  void translates5LevelAddressesAndRejectsThemIn4Level() throws Exception {
    long va = 0xff11_0000_1234_5000L; // only canonical with 57-bit addresses
    PageTables t = new PageTables(memory, 5, 0x100000).map(va, 0x9000, KIB4, P);
    PageTableWalker five = new PageTableWalker(memory, t.root, 5, true);
    assertThat(five.toPhysical(va + 0x10, Access.READ)).isEqualTo(0x9010);
    PageTableWalker four = new PageTableWalker(memory, t.root, 4, true);
    assertThat(fault(four, va, Access.READ, false).kind()).isEqualTo(Kind.NON_CANONICAL);
  }

  @Test
  void permissionFaultsCarryArchitecturalErrorCodes() {
    new PageTables(memory, 4, 0x100000).map(0x400000, 0x5000, KIB4, P | US | NX).map(0xffffffff81000000L, 0x6000,
        KIB4, P);
    PageTableWalker w = new PageTableWalker(memory, 0x100000, 4, true);
    PageFaultException write = fault(w, 0x400010, Access.WRITE, true);
    assertThat(write.errorCode()).isEqualTo(PageFaultException.PRESENT | PageFaultException.WRITE
        | PageFaultException.USER);
    assertThat(write.kind()).isEqualTo(Kind.PROTECTION);
    PageFaultException exec = fault(w, 0x400010, Access.EXECUTE, true);
    assertThat(exec.errorCode()).isEqualTo(PageFaultException.PRESENT | PageFaultException.USER
        | PageFaultException.INSTRUCTION);
    PageFaultException supervisor = fault(w, 0xffffffff81000000L, Access.READ, true);
    assertThat(supervisor.errorCode()).isEqualTo(PageFaultException.PRESENT | PageFaultException.USER);
    PageFaultException kernelWrite = fault(w, 0xffffffff81000000L, Access.WRITE, false);
    assertThat(kernelWrite.errorCode()).isEqualTo(PageFaultException.PRESENT | PageFaultException.WRITE);
    PageFaultException absent = fault(w, 0x800000, Access.READ, true);
    assertThat(absent.errorCode()).isEqualTo(PageFaultException.USER);
    assertThat(absent.kind()).isEqualTo(Kind.NOT_PRESENT);
  }

  @Test
  void writeProtectOffLetsTheKernelWriteReadOnlyPages() throws Exception {
    new PageTables(memory, 4, 0x100000).map(0xffffffff81000000L, 0x6000, KIB4, P);
    assertThat(new PageTableWalker(memory, 0x100000, 4, false).toPhysical(0xffffffff81000008L, Access.WRITE))
        .isEqualTo(0x6008);
  }

  @Test
  void reservedPsBitInTheTopLevelFaults() {
    PageTables t = new PageTables(memory, 4, 0x100000);
    t.putRootEntry(0xffff888000000000L, 0x200000 | P | PageTables.PS);
    PageFaultException e = fault(new PageTableWalker(memory, t.root, 4, true), 0xffff888000000000L, Access.READ, false);
    assertThat(e.kind()).isEqualTo(Kind.RESERVED_BIT);
    assertThat(e.errorCode() & PageFaultException.RESERVED).isNotZero();
  }

  @Test
  void entriesPointingOutsideTheImageFaultInsteadOfReadingZeros() {
    PageTables t = new PageTables(memory, 4, 0x100000);
    t.putRootEntry(0xffff888000000000L, 0x7_0000_0000_0000L | P | RW);
    PageFaultException e = fault(new PageTableWalker(memory, t.root, 4, true), 0xffff888000000000L, Access.READ, false);
    assertThat(e.kind()).isEqualTo(Kind.TABLE_OUTSIDE_IMAGE);
    assertThat(e).hasMessageContaining("not in the image");
  }

  @Test
  void selfReferencingTablesEndInAFiniteWalkAndABoundedScan() throws Exception {
    PageTables t = new PageTables(memory, 4, 0x100000);
    for (int i = 0; i < 512; i++) { // every entry points at the root itself
      memory.putLong(t.root + 8L * i, t.root | P | RW);
    }
    PageTableWalker w = new PageTableWalker(memory, t.root, 4, true);
    assertThat(w.toPhysical(0xffffffff81000000L, Access.READ)).isEqualTo(t.root + 0); // 4 hops, then a "page"
    assertThatThrownBy(() -> w.scan(0, -1L, 10_000, m -> true)).isInstanceOf(MemoryAccessException.class)
        .hasMessageContaining("too many tables");
  }

  @Test
  void scanVisitsMappingsInAddressOrderWithinBounds() throws Exception {
    new PageTables(memory, 4, 0x100000)
        .map(0xffffffffa0200000L, 0x6600000, MIB2, P)
        .map(0xffffffffa0000000L, 0x6400000, MIB2, P)
        .map(0xffffffffc0001000L, 0x9000, KIB4, P)
        .map(0xffff888000000000L, 0, GIB, P);
    PageTableWalker w = new PageTableWalker(memory, 0x100000, 4, true);
    List<Long> seen = new ArrayList<>();
    w.scan(0xffffffff80000000L, 0xffffffffbfffffffL, 100, m -> seen.add(m.virtualBase()));
    assertThat(seen).containsExactly(0xffffffffa0000000L, 0xffffffffa0200000L);
  }
}
