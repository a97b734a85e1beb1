package io.hybridbridge.fastexec;

import io.hybridbridge.schemas.ContextDecision;
import io.hybridbridge.schemas.MetadataEntry;
import io.hybridbridge.schemas.MetadataProvenance;
import io.hybridbridge.schemas.RedirectDecision;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.Metadata;
import io.hybridbridge.taint.slowpath.CallContext;
import java.util.ArrayList;
import java.util.List;

/** Training metadata made by hand, for unit tests of the table and the store (real metadata: dataset tests). */
public final class Units {
  private Units() {}

  public static MetadataEntry entry(long pc, int operand, RedirectDecision decision, ContextDecision... contexts) {
    return MetadataEntry.newBuilder().setPcOffset(pc).setOperand(operand).setDecision(decision)
        .setLocalCount(decision == RedirectDecision.REDIRECT ? 0 : 1)
        .setRedirectCount(decision == RedirectDecision.LOCAL ? 0 : 1).setContexts(List.of(contexts)).build();
  }

  public static ContextDecision context(long context, RedirectDecision decision) {
    return new ContextDecision(context, decision);
  }

  public static TrainingMetadata metadata(String buildId, String tool, String snapshot, MetadataEntry... entries) {
    List<MetadataEntry> list = new ArrayList<>(List.of(entries));
    list.sort(Metadata.ORDER);
    return TrainingMetadata.newBuilder().setFormatVersion(Metadata.FORMAT_VERSION).setKernelBuild("6.1.0-test")
        .setBuildId(buildId).setTool(tool).setContextDepth(CallContext.DEPTH).setContextHash(Metadata.CONTEXT_HASH)
        .setEntries(list)
        .setProvenance(MetadataProvenance.newBuilder().setVersion(1).setReference("6.1.0-test/reference")
            .setSnapshots(List.of(snapshot)).setRuns(1).setInstructions(100).setMemoryAccesses(10)
            .setRedirectedAccesses(1).setProducer("test").setCreatedMillis(0).build())
        .build();
  }
}
