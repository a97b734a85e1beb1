package io.hybridbridge.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.EngineException;
import io.hybridbridge.pipeline.engine.MetadataStore;
import io.hybridbridge.schemas.MetadataEntry;
import io.hybridbridge.schemas.MetadataProvenance;
import io.hybridbridge.schemas.RedirectDecision;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.Metadata;
import io.hybridbridge.taint.slowpath.CallContext;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The fast path's store behind the scan's seam: the version a scan reads carries what the store tells the user about
 * it, so that the launcher reads the store once (units of an older metadata format are left out, and said so).
 */
class MetadataDirectoryTest {
  private static TrainingMetadata unit(String buildId, String tool) {
    return TrainingMetadata.newBuilder().setFormatVersion(Metadata.FORMAT_VERSION).setKernelBuild("6.1.0-test")
        .setBuildId(buildId).setTool(tool).setContextDepth(CallContext.DEPTH).setContextHash(Metadata.CONTEXT_HASH)
        .setEntries(List.of(MetadataEntry.newBuilder().setPcOffset(0x1000).setOperand(1)
            .setDecision(RedirectDecision.REDIRECT).setLocalCount(0).setRedirectCount(1).setContexts(List.of())
            .build()))
        .setProvenance(MetadataProvenance.newBuilder().setVersion(1).setReference("6.1.0-test/reference")
            .setSnapshots(List.of("s1")).setRuns(1).setInstructions(100).setMemoryAccesses(10)
            .setRedirectedAccesses(1).setProducer("test").setCreatedMillis(0).build())
        .build();
  }

  @Test
  void theVersionReadSaysWhichUnitsItLeftOutForTheirOlderFormat(@TempDir Path dir) throws Exception {
    MetadataDirectory store = new MetadataDirectory(dir);
    assertThat(store.read().notes()).as("an empty store").isEmpty();
    BuildTool ps = new BuildTool("b1", "ps");
    MetadataStore.Version<TrainingMetadata> v1 = store.commit(Map.of(ps, unit("b1", "ps")));
    assertThat(v1.number()).isEqualTo(1);
    assertThat(store.read().units()).containsOnlyKeys(ps);
    assertThat(store.read().notes()).isEmpty();

    Path manifest = dir.resolve("v000001/version.json");
    Files.writeString(manifest, Files.readString(manifest).replaceAll("\"format\" : \\d+,", "")); // format 1
    MetadataStore.Version<TrainingMetadata> old = store.read();
    assertThat(old.units()).isEmpty();
    assertThat(old.notes()).singleElement().asString().contains("older metadata format").contains(dir.toString());
    assertThat(store.index().units()).isEmpty();
    assertThat(store.index().notes()).isEqualTo(old.notes());
  }

  @Test
  void aScanPlansFromTheVersionsIndexAndReadsOnlyTheUnitsOfTheBuildsItScans(@TempDir Path dir) throws Exception {
    MetadataDirectory store = new MetadataDirectory(dir);
    assertThat(store.index().number()).as("an empty store").isZero();
    store.commit(Map.of(new BuildTool("b1", "ps"), unit("b1", "ps"), new BuildTool("b1", "lsmod"),
        unit("b1", "lsmod"), new BuildTool("b2", "ps"), unit("b2", "ps")));
    // A unit nobody reads may even be damaged: neither the index nor another build's units open it.
    Files.writeString(dir.resolve("v000001/b2/ps.metadata.avro"), "damaged");

    MetadataStore.Index index = store.index();
    assertThat(index.number()).isEqualTo(1);
    assertThat(index.units()).containsExactlyInAnyOrder(new BuildTool("b1", "ps"), new BuildTool("b1", "lsmod"),
        new BuildTool("b2", "ps"));
    assertThat(store.units(1, Set.of("b1"))).containsOnlyKeys(new BuildTool("b1", "ps"), new BuildTool("b1", "lsmod"));
    assertThat(store.units(1, Set.of("b1")).get(new BuildTool("b1", "ps")).getEntries()).hasSize(1);
    assertThat(store.units(1, Set.of("b9"))).isEmpty();
    assertThatThrownBy(() -> store.units(1, Set.of("b2"))).isInstanceOf(EngineException.class).hasMessageContaining("b2");
  }
}
