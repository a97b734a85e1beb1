package io.hybridbridge.emulator.cpu;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.emulator.memory.AddressTranslator;
import io.hybridbridge.emulator.memory.PageFaultException;
import io.hybridbridge.emulator.memory.PageTableWalker;
import io.hybridbridge.emulator.memory.PageTables;
import io.hybridbridge.emulator.memory.SparseMemory;
import org.junit.jupiter.api.Test;

class PagedMemoryTest {
  /** Two virtual aliases of one physical page, like the kernel image and the direct map. */
  private static AddressTranslator aliases() {
    return (va, access) -> {
      if ((va >>> 12) == 0x10 || (va >>> 12) == 0x90) {
        return 0x10000 | (va & 0xfff);
      }
      if ((va >>> 12) == 0x11) {
        return va;
      }
      throw new PageFaultException("not present", va, access == AddressTranslator.Access.WRITE ? 2 : 0);
    };
  }

  @Test
  void writesAreCopyOnWriteAndVisibleThroughEveryAlias() throws Exception {
    SparseImage image = new SparseImage().put(0x10000, new byte[] {1, 2, 3, 4, 5, 6, 7, 8}).map(0x11000, 4096);
    PagedMemory memory = new PagedMemory(new FrameCache(image), aliases());
    assertThat(memory.read(0x90000, 8)).isEqualTo(0x0807060504030201L); // the alias is read first
    memory.write(0x10000, 4, 0xdeadbeefL);
    assertThat(memory.read(0x90000, 4)).isEqualTo(0xdeadbeefL);
    assertThat(memory.read(0x10004, 4)).isEqualTo(0x08070605L);
    assertThat(image.get(0x10000, 4)).containsExactly(1, 2, 3, 4); // the image is never written
    assertThat(memory.privatePageCount()).isEqualTo(1);
  }

  @Test
  void discardWritesForgetsWritesAndKeepsTranslations() throws Exception {
    SparseImage image = new SparseImage().put(0x10000, new byte[] {1}).put(0x11000, new byte[] {2});
    int[] walks = new int[1];
    AddressTranslator identity = image.identity();
    PagedMemory memory = new PagedMemory(new FrameCache(image), (va, access) -> {
      walks[0]++;
      return identity.toPhysical(va, access);
    });
    ScratchWindow window = memory.mapScratch(0x7f0000000000L, 0x1000);
    window.put(0x7f0000000000L, new byte[] {9});
    assertThat(memory.read(0x10000, 1)).isEqualTo(1);
    memory.write(0x11000, 1, 7);
    assertThat(memory.read(0x11000, 1)).isEqualTo(7);
    int before = walks[0];
    memory.discardWrites();
    assertThat(memory.read(0x10000, 1)).as("an image page: translation kept").isEqualTo(1);
    assertThat(walks[0]).isEqualTo(before);
    assertThat(memory.read(0x11000, 1)).as("the write is forgotten, the page's translation kept").isEqualTo(2);
    assertThat(walks[0]).isEqualTo(before);
    assertThat(memory.read(0x7f0000000000L, 1)).as("scratch zeroed").isZero();
    assertThat(memory.privatePageCount()).isZero();
  }

  /**
   * A first write is seen through an alias read and fetched long before, after tens of thousands of other pages
   * (the TLB's index of cached frames, which finds the aliases, is rebuilt on the way).
   */
  @Test
  void aWriteIsSeenThroughAliasesCachedLongBefore() throws Exception {
    SparseImage image = new SparseImage();
    for (int f = 0; f < 61; f++) {
      image.put((0x100L + f) << 12, new byte[] {(byte) f});
    }
    // virtual page v maps frame 0x100 + v % 61: every frame has thousands of virtual aliases
    AddressTranslator manyAliases = (va, access) -> ((0x100L + Long.remainderUnsigned(va >>> 12, 61)) << 12)
        | (va & 0xfff);
    PagedMemory memory = new PagedMemory(new FrameCache(image), manyAliases);
    long alias = 100L << 12; // frame 0x100 + 39
    long writer = (100L + 61 * 7) << 12; // the same frame, another TLB entry
    assertThat(memory.read(alias, 1)).isEqualTo(39);
    byte[] fetched = new byte[1];
    memory.fetch(alias, fetched, 1);
    for (long v = 1_000; v < 41_000; v++) {
      if ((v & 0xfff) != 100 && (v & 0xfff) != ((100 + 61 * 7) & 0xfff)) { // the two pages stay cached
        memory.read(v << 12, 1);
      }
    }
    memory.write(writer, 1, 0x55);
    assertThat(memory.read(alias, 1)).isEqualTo(0x55);
    memory.fetch(alias, fetched, 1);
    assertThat(fetched[0]).isEqualTo((byte) 0x55);
    assertThat(memory.read((100L + 61) << 12, 1)).as("an alias never cached").isEqualTo(0x55);
  }

  /**
   * A page written before its writes were discarded is copied again on its next write without a page-table walk, and
   * the copy is seen through every alias; a translation invalidated since (invlpg, a flush) is walked again.
   */
  @Test
  void aPageWrittenAgainAfterADiscardIsCopiedWithoutAWalkUntilItsTranslationIsInvalidated() throws Exception {
    SparseImage image = new SparseImage().put(0x10000, new byte[] {1, 2}).map(0x11000, 4096);
    int[] walks = new int[1];
    AddressTranslator aliases = aliases();
    PagedMemory memory = new PagedMemory(new FrameCache(image), (va, access) -> {
      walks[0]++;
      return aliases.toPhysical(va, access);
    });
    for (int run = 0; run < 3; run++) {
      assertThat(memory.read(0x90000, 1)).as("run %d: the alias shows the image", run).isEqualTo(1);
      int before = walks[0];
      memory.write(0x10000, 1, 0x40 + run);
      assertThat(memory.read(0x90000, 2)).as("run %d: the alias shows the copy", run).isEqualTo(0x0200 | 0x40 + run);
      assertThat(memory.read(0x10001, 1)).isEqualTo(2);
      assertThat(walks[0] - before).as("run %d: walks for the write and the reads", run).isEqualTo(run == 0 ? 2 : 0);
      memory.discardWrites();
    }
    memory.invalidate(0x10000);
    int before = walks[0];
    memory.write(0x10000, 1, 0x66);
    assertThat(walks[0]).as("an invalidated translation is walked again").isEqualTo(before + 1);
    assertThat(memory.read(0x90000, 1)).isEqualTo(0x66);
    memory.discardWrites();
    memory.flush();
    before = walks[0];
    memory.write(0x10000, 1, 0x67);
    assertThat(walks[0]).as("and a flushed one").isEqualTo(before + 1);
    assertThat(memory.read(0x90000, 1)).isEqualTo(0x67);
    assertThat(image.get(0x10000, 2)).containsExactly(1, 2);
  }

  /** Private copies are reused after their writes are discarded: a new one holds its own page, nothing else. */
  @Test
  void aCopyMadeAfterDiscardingWritesHoldsItsOwnPage() throws Exception {
    SparseImage image = new SparseImage().put(0x10000, new byte[] {1, 1, 1, 1}).put(0x11000, new byte[] {2, 2, 2, 2});
    PagedMemory memory = new PagedMemory(new FrameCache(image), image.identity());
    memory.write(0x10000, 8, -1L);
    memory.discardWrites();
    memory.write(0x11002, 1, 7); // a copy of the second page, in the array the first one's copy was
    assertThat(memory.read(0x11000, 4)).isEqualTo(0x02070202L);
    assertThat(memory.read(0x11004, 4)).isZero();
    assertThat(memory.read(0x10000, 8)).isEqualTo(0x01010101L);
    memory.write(0x10004, 1, 3); // and the first page again
    assertThat(memory.read(0x10000, 8)).isEqualTo(0x0000000301010101L);
    assertThat(memory.read(0x11000, 4)).isEqualTo(0x02070202L);
    assertThat(memory.privatePageCount()).isEqualTo(2);
  }

  @Test
  void pageTableWalksOverPhysicalSeeTheGuestsPageTableWrites() throws Exception {
    SparseMemory ram = new SparseMemory();
    long directMap = 0xffff888000000000L;
    PageTables tables = new PageTables(ram, 4, 0x100000).mapRange(directMap, 0, 0x200000, 4096, PageTables.P
        | PageTables.RW).map(0x400000, 0x10000, 4096, PageTables.P | PageTables.RW);
    ram.put(0x10000, new byte[] {'A'});
    ram.put(0x11000, new byte[] {'B'});
    PagedMemory memory = new PagedMemory(new FrameCache(ram), new PageTableWalker(ram, tables.root, 4, true));
    memory.setTranslator(new PageTableWalker(memory.physical(), tables.root, 4, true));
    assertThat(memory.read(0x400000, 1)).isEqualTo('A');
    long table = tables.root;
    for (int level = 4; level > 1; level--) {
      table = ram.readLong(table + (((0x400000L >>> (12 + 9 * (level - 1))) & 511) << 3)) & 0xffffffffff000L;
    }
    long pte = table + ((0x400000L >>> 12 & 511) << 3);
    memory.write(directMap + pte, 8, 0x11000 | PageTables.P | PageTables.RW); // the guest remaps the page
    memory.invalidate(0x400000);
    assertThat(memory.read(0x400000, 1)).as("the walk reads the written page table").isEqualTo('B');
    assertThat(ram.readLong(pte) & ~0xfffL).as("the image is not written").isEqualTo(0x10000);
    memory.discardWrites();
    assertThat(memory.read(0x400000, 1)).as("the remapping is forgotten with the write").isEqualTo('A');
  }

  @Test
  void memoriesSharingAnImageDoNotSeeEachOthersWrites() throws Exception {
    SparseImage image = new SparseImage().map(0x10000, 4096);
    FrameCache frames = new FrameCache(image);
    PagedMemory a = new PagedMemory(frames, image.identity());
    PagedMemory b = new PagedMemory(frames, image.identity());
    a.write(0x10010, 8, 42);
    assertThat(a.read(0x10010, 8)).isEqualTo(42);
    assertThat(b.read(0x10010, 8)).isZero();
    assertThat(image.reads).isEqualTo(1); // one load of the frame, shared
  }

  @Test
  void accessesCrossingPagesAreAssembledLittleEndian() throws Exception {
    SparseImage image = new SparseImage().map(0x10000, 8192);
    PagedMemory memory = new PagedMemory(new FrameCache(image), image.identity());
    memory.write(0x10ffd, 8, 0x1122334455667788L);
    assertThat(memory.read(0x10ffd, 8)).isEqualTo(0x1122334455667788L);
    assertThat(memory.read(0x11000, 1)).isEqualTo(0x55);
    assertThat(memory.read(0x10fff, 2)).isEqualTo(0x5566);
    byte[] bulk = new byte[6000];
    for (int i = 0; i < bulk.length; i++) {
      bulk[i] = (byte) i;
    }
    memory.write(0x10100, bulk, 0, bulk.length);
    byte[] back = new byte[6000];
    memory.read(0x10100, back, 0, back.length);
    assertThat(back).isEqualTo(bulk);
  }

  @Test
  void bulkWriteIntoAMissingPageWritesNothing() throws Exception {
    SparseImage image = new SparseImage().map(0x10000, 4096);
    PagedMemory memory = new PagedMemory(new FrameCache(image), image.identity());
    assertThatThrownBy(() -> memory.write(0x10ff0, new byte[32], 0, 32)).isInstanceOf(PageFaultException.class);
    memory.write(0x10ff0, 8, 7);
    assertThatThrownBy(() -> memory.write(0x10ff0, new byte[32], 0, 32)).isInstanceOf(PageFaultException.class);
    assertThat(memory.read(0x10ff0, 8)).isEqualTo(7);
  }

  @Test
  void scratchWindowIsServedFromJavaMemory() throws Exception {
    SparseImage image = new SparseImage();
    PagedMemory memory = new PagedMemory(new FrameCache(image), image.identity());
    ScratchWindow window = memory.mapScratch(0x7f0000000000L, 0x10000);
    window.putString(0x7f0000000100L, "/proc/version");
    assertThat(memory.read(0x7f0000000100L, 4)).isEqualTo(0x6f72702fL); // "/pro"
    byte[] path = new byte[14];
    memory.read(0x7f0000000100L, path, 0, 14);
    assertThat(new String(path, 0, 13)).isEqualTo("/proc/version");
    assertThat(path[13]).isZero();
    memory.write(0x7f0000000ffeL, 4, 0x64636261L); // crosses a page inside the window
    assertThat(new String(window.get(0x7f0000000ffeL, 4))).isEqualTo("abcd");
    window.put(0x7f0000001ffdL, "wxyz".getBytes(java.nio.charset.StandardCharsets.US_ASCII)); // and from Java
    assertThat(memory.read(0x7f0000001ffdL, 4)).isEqualTo(0x7a797877L);
    assertThat(image.reads).isZero();
    assertThatThrownBy(() -> memory.mapScratch(0x7f0000008000L, 0x10000))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> window.get(0x7f000000fffeL, 4)).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void translatorSwitchDropsCachedTranslations() throws Exception {
    SparseImage image = new SparseImage().put(0x10000, new byte[] {1}).put(0x11000, new byte[] {2});
    PagedMemory memory = new PagedMemory(new FrameCache(image), (va, a) -> 0x10000 | (va & 0xfff));
    assertThat(memory.read(0x400000, 1)).isEqualTo(1);
    memory.setTranslator((va, a) -> 0x11000 | (va & 0xfff));
    assertThat(memory.read(0x400000, 1)).isEqualTo(2);
  }
}
