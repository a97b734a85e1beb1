package io.hybridbridge.pipeline;

import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.InspectionEngine;
import io.hybridbridge.schemas.MetadataRow;
import java.util.List;
import java.util.TreeSet;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;

/**
 * Test engines whose metadata is a set of strings (what they learnt), merged by union. Their {@code metadata} table
 * has one row per string, in column {@code symbol}; every other column is a placeholder.
 */
abstract class StringSetMetadataEngine implements InspectionEngine<List<String>> {
  @Override
  public Coder<List<String>> metadataCoder() {
    return ListCoder.of(StringUtf8Coder.of());
  }

  @Override
  public List<String> merge(List<String> older, List<String> newer) {
    TreeSet<String> union = new TreeSet<>(older);
    union.addAll(newer);
    return List.copyOf(union);
  }

  @Override
  public List<MetadataRow> metadataRows(BuildTool key, String kernelBuild, long storeVersion, List<String> unit) {
    return unit.stream().map(learnt -> MetadataRow.newBuilder()
        .setKernelBuild(kernelBuild).setBuildId(key.buildId()).setTool(key.tool()).setStoreVersion(storeVersion)
        .setPcOffset(0).setSymbol(learnt).setOperand(0).setDecision("LOCAL").setLocalCount(0).setRedirectCount(0)
        .setContexts(0).setMixedContexts(0).setReferenceId("").setTrainedOn(List.of()).setTrainingRuns(0)
        .setTrainedMillis(0).build()).toList();
  }
}
