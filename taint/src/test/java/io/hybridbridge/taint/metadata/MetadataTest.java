package io.hybridbridge.taint.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.schemas.MetadataEntry;
import io.hybridbridge.schemas.RedirectDecision;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.policy.RedirectPolicy.Route;
import io.hybridbridge.taint.slowpath.DecisionLog;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Metadata from a decision log, its file, and the merge the fast path's re-training needs. */
class MetadataTest {
  private static final long PC = 0xffffffff81234560L;

  private static TrainingMetadata run(String snapshot, boolean redirect, long context) {
    return run("ref", snapshot, redirect, context);
  }

  private static TrainingMetadata run(String reference, String snapshot, boolean redirect, long context) {
    DecisionLog log = new DecisionLog();
    Route route = redirect ? Route.REDIRECT : Route.LOCAL;
    log.record(PC, 1, route, context);
    log.record(PC, 1, route, context);
    log.record(PC + 7, 0, Route.LOCAL, context);
    return Metadata.of(new Metadata.Run("6.1.0-53-amd64", "abcd", "ps", reference, snapshot, 1000), log);
  }

  private static MetadataEntry entry(TrainingMetadata m, long pc, int operand) {
    return m.getEntries().stream().filter(e -> e.getPcOffset() == pc && e.getOperand() == operand).findFirst()
        .orElseThrow();
  }

  @Test
  void perCpuIsAWayOfItsOwn() throws Exception {
    DecisionLog log = new DecisionLog();
    log.record(PC, 1, Route.PER_CPU, 5);
    log.record(PC, 1, Route.PER_CPU, 5);
    log.record(PC + 7, 0, Route.PER_CPU, 5);
    log.record(PC + 7, 0, Route.REDIRECT, 6);
    TrainingMetadata m = Metadata.of(new Metadata.Run("6.1.0-53-amd64", "abcd", "ps", "ref", "u1", 1000), log);
    assertThat(m.getProvenance().getRedirectedAccesses()).isEqualTo(4);
    MetadataEntry perCpu = entry(m, PC, 1);
    assertThat(perCpu.getDecision()).isEqualTo(RedirectDecision.PER_CPU);
    assertThat(perCpu.getPerCpuCount()).isEqualTo(2);
    assertThat(perCpu.getRedirectCount()).isZero();
    MetadataEntry mixed = entry(m, PC + 7, 0);
    assertThat(mixed.getDecision()).isEqualTo(RedirectDecision.MIXED);
    assertThat(mixed.getContexts()).extracting(c -> c.getDecision())
        .containsExactly(RedirectDecision.PER_CPU, RedirectDecision.REDIRECT);
    TrainingMetadata merged = Metadata.merge(m, run("u2", true, 5));
    assertThat(entry(merged, PC, 1).getDecision()).isEqualTo(RedirectDecision.MIXED);
    assertThat(entry(merged, PC, 1).getContexts()).extracting(c -> c.getDecision())
        .containsExactly(RedirectDecision.MIXED);
  }

  @Test
  void aRunsLogBecomesEntriesWithCountsAndContexts() {
    TrainingMetadata m = run("u1", true, 5);
    assertThat(m.getEntries()).hasSize(2);
    MetadataEntry e = entry(m, PC, 1);
    assertThat(e.getDecision()).isEqualTo(RedirectDecision.REDIRECT);
    assertThat(e.getRedirectCount()).isEqualTo(2);
    assertThat(e.getContexts()).singleElement().satisfies(c -> {
      assertThat(c.getContext()).isEqualTo(5);
      assertThat(c.getDecision()).isEqualTo(RedirectDecision.REDIRECT);
    });
    assertThat(m.getProvenance().getMemoryAccesses()).isEqualTo(3);
    assertThat(m.getProvenance().getRedirectedAccesses()).isEqualTo(2);
  }

  @Test
  void mergingTwoTrainingsAddsCountsAndMakesDisagreementsMixed() throws Exception {
    TrainingMetadata merged = Metadata.merge(run("u1", true, 5), run("u2", false, 6));
    MetadataEntry e = entry(merged, PC, 1);
    assertThat(e.getDecision()).isEqualTo(RedirectDecision.MIXED);
    assertThat(e.getLocalCount()).isEqualTo(2);
    assertThat(e.getRedirectCount()).isEqualTo(2);
    assertThat(e.getContexts()).extracting(c -> c.getContext() + ":" + c.getDecision())
        .containsExactly("5:REDIRECT", "6:LOCAL");
    assertThat(entry(merged, PC + 7, 0).getDecision()).isEqualTo(RedirectDecision.LOCAL);
    assertThat(merged.getProvenance().getSnapshots()).containsExactly("u1", "u2");
    assertThat(merged.getProvenance().getRuns()).isEqualTo(2);
    assertThat(merged.getProvenance().getVersion()).isEqualTo(2);
  }

  @Test
  void aContextSeenBothWaysIsMixedSoTheFastPathFallsBackThere() throws Exception {
    TrainingMetadata merged = Metadata.merge(run("u1", true, 5), run("u1", false, 5));
    assertThat(entry(merged, PC, 1).getContexts()).singleElement()
        .satisfies(c -> assertThat(c.getDecision()).isEqualTo(RedirectDecision.MIXED));
    assertThat(merged.getProvenance().getSnapshots()).containsExactly("u1");
  }

  @Test
  void trainingsOnOtherReferencesOfTheBuildAreMergedAndListed() throws Exception {
    TrainingMetadata oneThenTwo = Metadata.merge(run("ref-1cpu", "u1", true, 5), run("ref-2cpu", "u2", true, 6));
    TrainingMetadata twoThenOne = Metadata.merge(run("ref-2cpu", "u3", true, 6), run("ref-1cpu", "u4", true, 5));
    TrainingMetadata merged = Metadata.merge(oneThenTwo, twoThenOne);
    assertThat(entry(merged, PC, 1).getDecision()).isEqualTo(RedirectDecision.REDIRECT);
    assertThat(merged.getProvenance().getReference()).isEqualTo("ref-1cpu");
    assertThat(merged.getProvenance().getMoreReferences()).containsExactly("ref-2cpu");
    assertThat(run("u1", true, 5).getProvenance().getMoreReferences()).isEmpty();
  }

  @Test
  void metadataOfAnotherBuildOrToolIsNotMerged() {
    TrainingMetadata a = run("u1", true, 5);
    TrainingMetadata otherBuild = TrainingMetadata.newBuilder(a).setBuildId("ef01").build();
    TrainingMetadata otherTool = TrainingMetadata.newBuilder(a).setTool("lsmod").build();
    assertThatThrownBy(() -> Metadata.merge(a, otherBuild)).isInstanceOf(MetadataException.class)
        .hasMessageContaining("build-id");
    assertThatThrownBy(() -> Metadata.merge(a, otherTool)).hasMessageContaining("tool");
  }

  @Test
  void theFileRoundTripsAndGarbageIsAClearError(@TempDir Path dir) throws Exception {
    TrainingMetadata m = run("u1", true, 5);
    Path file = dir.resolve("ps.metadata.avro");
    MetadataFiles.write(file, m);
    assertThat(MetadataFiles.read(file)).isEqualTo(m);
    try (var files = Files.list(dir)) {
      assertThat(files).containsExactly(file); // no temporary left behind
    }
    Path garbage = dir.resolve("garbage.avro");
    Files.write(garbage, new byte[] {1, 2, 3, 4, 5});
    assertThatThrownBy(() -> MetadataFiles.read(garbage)).isInstanceOf(MetadataException.class)
        .hasMessageContaining("not a training metadata file");
  }
}
