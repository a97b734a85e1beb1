package io.hybridbridge.pipeline;

import io.hybridbridge.schemas.ContextDecision;
import io.hybridbridge.schemas.MetadataEntry;
import io.hybridbridge.schemas.MetadataProvenance;
import io.hybridbridge.schemas.MetadataRow;
import io.hybridbridge.schemas.RedirectDecision;
import io.hybridbridge.schemas.TrainingMetadata;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongFunction;

/** The rows of table {@code metadata} for one (build, tool)'s training metadata: one per entry. */
final class MetadataRows {
  private MetadataRows() {}

  /**
   * @param symbolAt function+offset of a KASLR-free address in the build's profile, if known
   */
  static List<MetadataRow> of(TrainingMetadata unit, String kernelBuild, long storeVersion,
      LongFunction<Optional<String>> symbolAt) {
    MetadataProvenance provenance = unit.getProvenance();
    List<String> trainedOn = provenance.getSnapshots().stream().map(CharSequence::toString).toList();
    List<MetadataRow> rows = new ArrayList<>(unit.getEntries().size());
    for (MetadataEntry entry : unit.getEntries()) {
      int mixed = 0;
      for (ContextDecision context : entry.getContexts()) {
        mixed += context.getDecision() == RedirectDecision.MIXED ? 1 : 0;
      }
      rows.add(MetadataRow.newBuilder()
          .setKernelBuild(kernelBuild).setBuildId(unit.getBuildId()).setTool(unit.getTool())
          .setStoreVersion(storeVersion).setPcOffset(entry.getPcOffset())
          .setSymbol(symbolAt.apply(entry.getPcOffset()).orElse(null)).setOperand(entry.getOperand())
          .setDecision(entry.getDecision().name()).setLocalCount(entry.getLocalCount())
          .setRedirectCount(entry.getRedirectCount()).setPerCpuCount(entry.getPerCpuCount()).setContexts(entry.getContexts().size())
          .setMixedContexts(mixed).setReferenceId(provenance.getReference())
          .setMoreReferences(new ArrayList<>(provenance.getMoreReferences())).setTrainedOn(trainedOn)
          .setTrainingRuns(provenance.getRuns()).setTrainedMillis(provenance.getCreatedMillis())
          .build());
    }
    return rows;
  }
}
