package io.hybridbridge.fastexec.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TranslationStoreTest {
  private static final String KEY = "ab".repeat(32);

  @Test
  void keepsClassFilesByKeyAndPlansByReference(@TempDir Path dir) throws Exception {
    TranslationStore store = TranslationStore.ofMetadataStore(dir);
    assertThat(store.find(KEY)).isNull();
    assertThat(store.plan("ref-a")).isEmpty();

    store.keep(KEY, new byte[] {1, 2, 3});
    store.addBatch("ref-a", List.of(0xffffffff81000000L, 0xffffffff81000010L));
    store.addBatch("ref-a", List.of(0xffffffff81000020L));
    store.addBatch("ref-a", List.of());
    store.addBatch("ref-b", List.of(0x1000L));

    TranslationStore again = TranslationStore.in(dir.resolve("translated"));
    assertThat(again.find(KEY)).containsExactly(1, 2, 3);
    assertThat(again.find("cd".repeat(32))).isNull();
    assertThat(again.find("../../etc/passwd")).as("not a key").isNull();
    assertThat(again.plan("ref-a")).containsExactly(List.of(0xffffffff81000000L, 0xffffffff81000010L),
        List.of(0xffffffff81000020L));
    assertThat(again.plan("ref-b")).containsExactly(List.of(0x1000L));
    try (Stream<Path> files = Files.walk(dir)) {
      assertThat(files.map(p -> p.getFileName().toString())).noneMatch(name -> name.startsWith(".tmp-"));
    }
    assertThatThrownBy(() -> store.keep("x/y", new byte[0])).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void whatIsFoundIsMarkedUsedAndPruneRemovesWhatWasNotUsedForLong(@TempDir Path dir) throws Exception {
    TranslationStore store = TranslationStore.ofMetadataStore(dir);
    String unused = "cd".repeat(32);
    store.keep(KEY, new byte[] {1, 2, 3});
    store.keep(unused, new byte[] {4, 5});
    store.addBatch("ref-a", List.of(0x10L));
    store.addBatch("ref-b", List.of(0x20L));
    Path classes = store.directory().resolve("classes");
    Path stopped = Files.write(classes.resolve(".tmp-0123"), new byte[7]); // a write that stopped before its rename
    Instant longAgo = Instant.now().minus(Duration.ofDays(40));
    try (Stream<Path> files = Files.walk(store.directory())) {
      for (Path file : files.filter(Files::isRegularFile).toList()) {
        Files.setLastModifiedTime(file, FileTime.from(longAgo));
      }
    }
    Instant beforeUse = Instant.now().minusSeconds(60);
    assertThat(store.find(KEY)).containsExactly(1, 2, 3);
    assertThat(store.plan("ref-a")).hasSize(1);
    assertThat(Files.getLastModifiedTime(classes.resolve(KEY + ".class")).toInstant()).isAfter(beforeUse);

    assertThatThrownBy(() -> store.prune(Duration.ofHours(12))).isInstanceOf(IllegalArgumentException.class);
    assertThat(store.prune(Duration.ofDays(50))).isEqualTo(new TranslationStore.Pruned(0, 0, 5, 3 + 2 + 7
        + Files.size(plan(store, "ref-a")) + Files.size(plan(store, "ref-b"))));
    TranslationStore.Pruned pruned = store.prune(Duration.ofDays(30));
    assertThat(pruned.removed()).isEqualTo(3);
    assertThat(pruned.kept()).isEqualTo(2);
    assertThat(store.find(unused)).isNull();
    assertThat(stopped).doesNotExist();
    assertThat(store.plan("ref-b")).isEmpty();
    assertThat(store.find(KEY)).containsExactly(1, 2, 3);
    assertThat(store.plan("ref-a")).containsExactly(List.of(0x10L));
  }

  /** The plan file of {@code reference}: the only one that names it. */
  private static Path plan(TranslationStore store, String reference) throws Exception {
    try (Stream<Path> plans = Files.list(store.directory().resolve("plans"))) {
      for (Path plan : plans.toList()) {
        if (Files.readString(plan).contains("reference " + reference + ",")) {
          return plan;
        }
      }
    }
    throw new AssertionError("no plan of " + reference);
  }

  @Test
  void aStoreThatCannotBeWrittenLosesOnlyWhatItKeeps(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("translated"), "a file where the directory should be");
    TranslationStore store = TranslationStore.ofMetadataStore(dir);
    java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
    java.io.PrintStream before = System.err;
    System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
    try {
      for (int k = 0; k < 3; k++) {
        store.keep(Integer.toHexString(k).repeat(64).substring(0, 64), new byte[] {1});
      }
      store.addBatch("ref", List.of(0x10L));
    } finally {
      System.setErr(before);
    }
    assertThat(store.find("0".repeat(64))).isNull();
    assertThat(store.plan("ref")).isEmpty();
    assertThat(err.toString(java.nio.charset.StandardCharsets.UTF_8).lines()).as("warnings").hasSize(1)
        .allMatch(line -> line.contains("cannot keep") && line.contains("further failures"));
  }

  @Test
  void anUnreadablePlanIsNoPlan(@TempDir Path dir) throws Exception {
    TranslationStore store = TranslationStore.in(dir);
    store.addBatch("ref", List.of(0x10L));
    try (Stream<Path> plans = Files.list(dir.resolve("plans"))) {
      Files.writeString(plans.findFirst().orElseThrow(), "10 zz\n");
    }
    assertThat(store.plan("ref")).isEmpty();
  }
}
