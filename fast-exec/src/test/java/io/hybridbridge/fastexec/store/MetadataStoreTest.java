package io.hybridbridge.fastexec.store;

import static io.hybridbridge.fastexec.Units.context;
import static io.hybridbridge.fastexec.Units.entry;
import static io.hybridbridge.schemas.RedirectDecision.LOCAL;
import static io.hybridbridge.schemas.RedirectDecision.MIXED;
import static io.hybridbridge.schemas.RedirectDecision.REDIRECT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.fastexec.Units;
import io.hybridbridge.schemas.MetadataEntry;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.MetadataException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The versioned store: append-only versions, merges, atomic and concurrent commits, what it refuses. */
class MetadataStoreTest {
  private static final long PC = 0xffffffff81000000L;

  private static TrainingMetadata ps(String snapshot, MetadataEntry... entries) {
    return Units.metadata("b1", "ps", snapshot, entries);
  }

  @Test
  void commitsAreNewVersionsAndOldVersionsStayAsTheyWere(@TempDir Path dir) throws Exception {
    MetadataStore store = MetadataStore.open(dir.resolve("store"));
    assertThat(store.latest().number()).isZero();
    assertThat(store.latest().units()).isEmpty();

    MetadataStore.Version v1 = store.commit(List.of(ps("s1", entry(PC, 0, LOCAL)),
        Units.metadata("b1", "lsmod", "s1", entry(PC + 8, 1, REDIRECT))));
    assertThat(v1.number()).isEqualTo(1);
    assertThat(Files.isDirectory(dir.resolve("store/v000001"))).isTrue();

    // the same instruction redirected in another snapshot: merged, MIXED; lsmod untouched, shared with v1
    MetadataStore.Version v2 = store.commit(List.of(ps("s2", entry(PC, 0, REDIRECT))));
    assertThat(v2.number()).isEqualTo(2);
    MetadataStore.Version read = MetadataStore.open(dir.resolve("store")).latest();
    assertThat(read.number()).isEqualTo(2);
    TrainingMetadata merged = read.get("b1", "ps").orElseThrow();
    assertThat(merged.getEntries()).singleElement().satisfies(e -> {
      assertThat(e.getDecision()).isEqualTo(MIXED);
      assertThat(e.getLocalCount() + e.getRedirectCount()).isEqualTo(2);
    });
    assertThat(merged.getProvenance().getSnapshots()).containsExactly("s1", "s2");
    assertThat(read.get("b1", "lsmod")).contains(v1.get("b1", "lsmod").orElseThrow());
    assertThat(Files.isSameFile(dir.resolve("store/v000001/b1/lsmod.metadata.avro"),
        dir.resolve("store/v000002/b1/lsmod.metadata.avro"))).as("an unchanged unit is linked").isTrue();
    // version 1 is still there, unchanged
    assertThat(store.read(1).get("b1", "ps").orElseThrow().getEntries()).singleElement()
        .satisfies(e -> assertThat(e.getDecision()).isEqualTo(LOCAL));
    // nothing learnt: no new version
    assertThat(store.commit(List.of()).number()).isEqualTo(2);
    assertThat(read.get("b2", "ps")).isEmpty();
  }

  /** Old versions go; the kept ones stay whole, with the units they share with the pruned ones. */
  @Test
  void pruningRemovesOldVersionsAndKeepsTheNewestWhole(@TempDir Path dir) throws Exception {
    MetadataStore store = MetadataStore.open(dir);
    TrainingMetadata lsmod = Units.metadata("b1", "lsmod", "s1", entry(PC + 8, 1, REDIRECT));
    store.commit(List.of(lsmod, ps("s1", entry(PC, 0, LOCAL)))); // lsmod is linked by every later version
    for (int k = 2; k <= 5; k++) {
      store.commit(List.of(ps("s" + k, entry(PC + k, 0, LOCAL))));
    }
    assertThat(store.prune(2, Duration.ofHours(1))).as("all younger than an hour").isEmpty();

    assertThat(store.prune(2, Duration.ZERO)).containsExactly(1L, 2L, 3L);
    assertThat(store.versionNumbers()).containsExactly(4L, 5L);
    assertThat(store.latest().number()).isEqualTo(5);
    assertThat(store.latest().get("b1", "lsmod")).contains(lsmod);
    assertThat(store.read(4).get("b1", "ps").orElseThrow().getEntries()).hasSize(4);
    assertThatThrownBy(() -> store.read(1)).isInstanceOf(MetadataException.class);
    assertThat(store.commit(List.of(ps("s6", entry(PC + 6, 0, LOCAL)))).number()).isEqualTo(6);
    assertThat(store.prune(5, Duration.ZERO)).isEmpty();
    assertThatThrownBy(() -> store.prune(0, Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
  }

  /** A store that kept many builds is not read whole to write one unit: the others are linked, unread. */
  @Test
  void aCommitReadsOnlyTheUnitsItChangesAndReturnsThem(@TempDir Path dir) throws Exception {
    MetadataStore store = MetadataStore.open(dir);
    TrainingMetadata lsmod = Units.metadata("b1", "lsmod", "s1", entry(PC + 8, 1, REDIRECT), entry(PC + 16, 0, LOCAL));
    store.commit(List.of(ps("s1", entry(PC, 0, LOCAL)), lsmod, Units.metadata("b2", "ps", "s1",
        entry(PC, 0, LOCAL))));
    Path otherBuild = dir.resolve("v000001/b2/ps.metadata.avro");
    Files.writeString(otherBuild, "damaged"); // would fail the commit if it were read

    MetadataStore.Version v2 = store.commit(List.of(ps("s2", entry(PC + 4, 0, REDIRECT))));
    assertThat(v2.number()).isEqualTo(2);
    assertThat(v2.units().keySet()).containsExactly(new MetadataStore.Key("b1", "ps"));
    assertThat(v2.get("b1", "ps").orElseThrow().getEntries()).hasSize(2); // merged with version 1's
    assertThat(store.latestIndex().units()).containsExactlyInAnyOrder(new MetadataStore.Key("b1", "ps"),
        new MetadataStore.Key("b1", "lsmod"), new MetadataStore.Key("b2", "ps"));
    assertThat(Files.isSameFile(otherBuild, dir.resolve("v000002/b2/ps.metadata.avro"))).isTrue();
    assertThat(store.read(2, key -> key.buildId().equals("b1")).get("b1", "lsmod")).contains(lsmod);
    assertThat(Files.readString(dir.resolve("v000002/version.json"))).contains("\"entries\" : 2")
        .contains("\"kernelBuild\" : \"" + lsmod.getKernelBuild() + "\"");
    assertThatThrownBy(() -> store.read(2)).isInstanceOf(MetadataException.class);
  }

  /**
   * A version written before the metadata format changed (its manifest names no format: format 1) is read as if its
   * units were never trained, so that runs train them again; the next version leaves them out, and the old one stays.
   */
  @Test
  void unitsOfAnOlderFormatAreLeftOutAndTrainedAgain(@TempDir Path dir) throws Exception {
    MetadataStore store = MetadataStore.open(dir.resolve("store"));
    store.commit(List.of(ps("s1", entry(PC, 0, REDIRECT)), Units.metadata("b1", "lsmod", "s1",
        entry(PC + 8, 1, LOCAL))));
    Path manifest = dir.resolve("store/v000001/version.json");
    String current = Files.readString(manifest);
    assertThat(current).contains("\"format\" : " + io.hybridbridge.taint.metadata.Metadata.FORMAT_VERSION);
    Files.writeString(manifest, current.replaceAll("\"format\" : \\d+,", "")); // as written before the field

    MetadataStore.Version old = store.latest();
    assertThat(old.number()).isEqualTo(1);
    assertThat(old.units()).isEmpty();
    assertThat(old.outdated()).containsExactlyInAnyOrder(new MetadataStore.Key("b1", "ps"),
        new MetadataStore.Key("b1", "lsmod"));

    MetadataStore.Version v2 = store.commit(List.of(ps("s2", entry(PC, 0, LOCAL))));
    assertThat(v2.get("b1", "ps").orElseThrow().getEntries()).singleElement()
        .satisfies(e -> assertThat(e.getDecision()).as("not merged with the outdated REDIRECT").isEqualTo(LOCAL));
    MetadataStore.Version read = store.latest();
    assertThat(read.units().keySet()).containsExactly(new MetadataStore.Key("b1", "ps"));
    assertThat(read.outdated()).isEmpty();
    assertThat(Files.exists(dir.resolve("store/v000001/b1/lsmod.metadata.avro"))).as("the old version stays").isTrue();
  }

  @Test
  void severalDeltasOfOneUnitInOneCommitAreMerged(@TempDir Path dir) throws Exception {
    MetadataStore store = MetadataStore.open(dir);
    MetadataStore.Version v = store.commit(List.of(ps("s1", entry(PC, 0, LOCAL, context(5, LOCAL))),
        ps("s2", entry(PC, 0, REDIRECT, context(5, REDIRECT)))));
    assertThat(v.number()).isEqualTo(1);
    assertThat(v.get("b1", "ps").orElseThrow().getEntries().get(0).getContexts()).singleElement()
        .satisfies(c -> assertThat(c.getDecision()).isEqualTo(MIXED));
  }

  @Test
  void concurrentCommitsEachGetAVersionAndNoneIsLost(@TempDir Path dir) throws Exception {
    int writers = 8;
    ExecutorService pool = Executors.newFixedThreadPool(writers);
    CountDownLatch start = new CountDownLatch(1);
    List<Future<Long>> versions = new ArrayList<>();
    try {
      for (int i = 0; i < writers; i++) {
        long pc = PC + 16L * i;
        Callable<Long> writer = () -> {
          MetadataStore store = MetadataStore.open(dir); // as a separate run would
          start.await();
          return store.commit(List.of(ps("s" + pc, entry(pc, 0, REDIRECT)))).number();
        };
        versions.add(pool.submit(writer));
      }
      start.countDown();
      List<Long> numbers = new ArrayList<>();
      for (Future<Long> f : versions) {
        numbers.add(f.get());
      }
      assertThat(numbers).containsExactlyInAnyOrder(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
    } finally {
      pool.shutdownNow();
    }
    TrainingMetadata last = MetadataStore.open(dir).latest().get("b1", "ps").orElseThrow();
    assertThat(last.getEntries()).hasSize(writers);
    assertThat(last.getProvenance().getRuns()).isEqualTo(writers);
    try (Stream<Path> left = Files.list(dir)) {
      assertThat(left.map(p -> p.getFileName().toString())).allMatch(n -> n.matches("v\\d{6}"));
    }
  }

  @Test
  void aCrashedWriteLeavesTheLastVersionIntact(@TempDir Path dir) throws Exception {
    MetadataStore store = MetadataStore.open(dir);
    store.commit(List.of(ps("s1", entry(PC, 0, LOCAL))));
    // a run that died while writing version 2: its temporary directory, half written
    Path half = Files.createDirectory(dir.resolve(".tmp-12345"));
    Files.createDirectories(half.resolve("b1"));
    Files.writeString(half.resolve("b1/ps.metadata.avro"), "half a file");
    assertThat(store.latest().number()).isEqualTo(1);
    assertThat(store.commit(List.of(ps("s2", entry(PC + 8, 0, LOCAL)))).number()).isEqualTo(2);
    assertThat(store.latest().get("b1", "ps").orElseThrow().getEntries()).hasSize(2);
  }

  @Test
  void aDamagedVersionAndUnfileableNamesAreClearErrors(@TempDir Path dir) throws Exception {
    MetadataStore store = MetadataStore.open(dir);
    store.commit(List.of(ps("s1", entry(PC, 0, LOCAL))));
    Files.writeString(dir.resolve("v000001/b1/ps.metadata.avro"), "not avro");
    assertThatThrownBy(store::latest).isInstanceOf(MetadataException.class).hasMessageContaining("ps.metadata.avro");
    Files.createDirectory(dir.resolve("v000002"));
    assertThatThrownBy(store::latest).isInstanceOf(MetadataException.class).hasMessageContaining("version.json");
    assertThatThrownBy(() -> MetadataStore.open(dir.resolve("other")).commit(List.of(
        Units.metadata("../b1", "ps", "s", entry(PC, 0, LOCAL))))).isInstanceOf(MetadataException.class)
        .hasMessageContaining("../b1");
  }
}
