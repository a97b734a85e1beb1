package io.hybridbridge.fastexec.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.fastexec.store.MetadataStore;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.RedirectDecision;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.testing.TestDataset;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code hb train} commits to the metadata store: a version per run, each merging what the run learnt. */
@Tag("dataset")
class TrainCommandTest {
  @Test
  void eachTrainingIsANewVersionOfTheStoreMergedWithTheLast(@TempDir Path store) throws Exception {
    List<ManifestEntry> snapshots = TestDataset.snapshots();
    ManifestEntry first = snapshots.get(0);
    ManifestEntry second = snapshots.stream().filter(e -> e.getKernelBuild().equals(first.getKernelBuild()))
        .filter(e -> !e.getId().equals(first.getId())).findFirst().orElseThrow();
    String build = first.getKernelBuild();
    String buildId = TestDataset.references().identityOf(TestDataset.reference(build)).orElseThrow().buildId();

    assertThat(train(build, first, store)).isZero();
    MetadataStore.Version v1 = MetadataStore.open(store).latest();
    assertThat(v1.number()).isEqualTo(1);
    TrainingMetadata lsmod = v1.get(buildId, "lsmod").orElseThrow();
    assertThat(lsmod.getProvenance().getSnapshots()).containsExactly(first.getId());
    assertThat(lsmod.getEntries()).anyMatch(e -> e.getDecision() != RedirectDecision.LOCAL);
    assertThat(v1.get(buildId, "mount")).isPresent();

    assertThat(train(build, second, store)).isZero();
    MetadataStore.Version v2 = MetadataStore.open(store).latest();
    assertThat(v2.number()).isEqualTo(2);
    assertThat(v2.get(buildId, "lsmod").orElseThrow().getProvenance().getSnapshots())
        .containsExactly(first.getId(), second.getId());
  }

  @Test
  void anUnknownBuildIsABadArgument(@TempDir Path store) throws Exception {
    int status = new CommandLine(new TrainCommand()).execute("--build", "no-such-build", "--tool", "lsmod",
        "--references", TestDataset.directory().toString(), "--store", store.toString());
    assertThat(status).isEqualTo(2);
    assertThat(MetadataStore.open(store).latest().number()).isZero();
  }

  private static int train(String build, ManifestEntry snapshot, Path store) throws Exception {
    return new CommandLine(new TrainCommand()).execute("--build", build, "--tool", "lsmod,mount", "--snapshots",
        snapshot.getId(), "--references", TestDataset.directory().toString(), "--store", store.toString());
  }
}
