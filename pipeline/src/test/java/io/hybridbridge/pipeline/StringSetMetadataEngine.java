package io.hybridbridge.pipeline;

import io.hybridbridge.pipeline.engine.InspectionEngine;
import java.util.List;
import java.util.TreeSet;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.ListCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;

/** Test engines whose metadata is a set of strings (what they learnt), merged by union. */
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
}
