package io.hybridbridge.taint.slowpath;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.schemas.MetadataEntry;
import io.hybridbridge.schemas.RedirectDecision;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.Metadata;
import io.hybridbridge.taint.metadata.MetadataFiles;
import io.hybridbridge.taint.testing.TestDataset;
import io.hybridbridge.schemas.ManifestEntry;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training on real snapshots: metadata is keyed by KASLR-free offsets (two boots with different slides give the same
 * redirected instructions), names the functions that read the guest's state, and survives a file round trip and a
 * merge.
 */
@Tag("dataset")
class TrainingTest {
  @Test
  void lsmodMetadataOfTwoBootsAgreesAndPointsAtTheModuleListCode(@TempDir Path dir) throws Exception {
    ManifestEntry first = TestDataset.snapshots().get(0);
    String build = first.getKernelBuild();
    List<ManifestEntry> boots = TestDataset.snapshots().stream().filter(e -> e.getKernelBuild().equals(build))
        .filter(e -> !e.getVmId().equals(first.getVmId())).toList();
    assertThat(boots).as("a snapshot of another boot of %s", build).isNotEmpty();
    ManifestEntry second = boots.get(0);
    ReferenceStore.Reference reference = TestDataset.reference(build);
    Profile profile = reference.profile();
    TrainingMetadata a;
    TrainingMetadata b;
    try (SlowPath slow = SlowPath.open(reference)) {
      a = train(slow, first);
      b = train(slow, second);
    }
    // the same instructions are redirected on both boots, at the same KASLR-free offsets
    assertThat(redirected(b)).isEqualTo(redirected(a));
    Set<String> functions = redirected(a).stream().map(pc -> profile.symbolAt(pc).orElseThrow().symbol().name())
        .collect(Collectors.toCollection(TreeSet::new));
    assertThat(functions).as("functions whose accesses read U").contains("m_show", "seq_list_start");
    assertThat(a.getBuildId()).isEqualTo(slowIdentity(reference)).isNotBlank();

    TrainingMetadata merged = Metadata.merge(a, b);
    Path file = dir.resolve("lsmod.metadata.avro");
    MetadataFiles.write(file, merged);
    TrainingMetadata read = MetadataFiles.read(file);
    assertThat(read).isEqualTo(merged);
    assertThat(read.getProvenance().getSnapshots()).containsExactly(first.getId(), second.getId());
    assertThat(read.getEntries()).allSatisfy(e -> assertThat(e.getLocalCount() + e.getRedirectCount()
        + e.getPerCpuCount()).isPositive());
  }

  private static String slowIdentity(ReferenceStore.Reference reference) throws Exception {
    return TestDataset.references().identityOf(reference).orElseThrow().buildId();
  }

  private static TrainingMetadata train(SlowPath slow, ManifestEntry e) throws Exception {
    try (UntrustedSnapshot u = UntrustedSnapshot.open(TestDataset.path(e), e.getId(), e.getVmId())) {
      return slow.inspect(u, Tools.LSMOD).metadata();
    }
  }

  private static Set<Long> redirected(TrainingMetadata m) {
    return m.getEntries().stream().filter(e -> e.getDecision() != RedirectDecision.LOCAL)
        .map(MetadataEntry::getPcOffset).collect(Collectors.toCollection(TreeSet::new));
  }
}
