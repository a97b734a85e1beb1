package io.hybridbridge.taint.metadata;

import io.hybridbridge.schemas.ContextDecision;
import io.hybridbridge.schemas.MetadataEntry;
import io.hybridbridge.schemas.MetadataProvenance;
import io.hybridbridge.schemas.RedirectDecision;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.slowpath.CallContext;
import io.hybridbridge.taint.slowpath.DecisionLog;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The training result (DESIGN §5.3, §5.5): one {@link TrainingMetadata} per (kernel build, tool), made from the slow
 * path's {@link DecisionLog} and merged across runs and re-trainings.
 */
public final class Metadata {
  /**
   * Meaning of the file; a reader refuses others. 3: T's per-CPU base plus a U {@code __percpu} offset is {@code
   * PER_CPU} (in 2 it was LOCAL beyond T's per-CPU units, and such a read faulted or read T), and a tainted address
   * inside T's units is no longer redirected by where it lies. 2: the redirect policy
   * keeps {@code phys_base} local (in 1 it was redirected, so format-1 metadata decides its reads the other way).
   */
  public static final int FORMAT_VERSION = 3;
  /** The context function of {@link CallContext}, as the schema documents it. */
  public static final String CONTEXT_HASH = "splitmix64-chain-region-v2";
  public static final String PRODUCER = "hybrid-bridge taint 0.1.0";

  private Metadata() {}

  /** What one slow-path run was: its build, tool, reference, snapshot and counts. */
  public record Run(String kernelBuild, String buildId, String tool, String reference, String snapshot,
      long instructions) {}

  /** The metadata of one slow-path run. */
  public static TrainingMetadata of(Run run, DecisionLog log) {
    List<MetadataEntry> entries = new ArrayList<>();
    for (DecisionLog.Entry e : log.entries()) {
      List<ContextDecision> contexts = new ArrayList<>();
      for (Map.Entry<Long, Byte> c : new TreeMap<>(e.contexts()).entrySet()) {
        contexts.add(new ContextDecision(c.getKey(), decision(c.getValue())));
      }
      entries.add(MetadataEntry.newBuilder().setPcOffset(e.pcOffset()).setOperand(e.operand())
          .setDecision(decision(e.localCount(), e.redirectCount(), e.perCpuCount())).setLocalCount(e.localCount())
          .setRedirectCount(e.redirectCount()).setPerCpuCount(e.perCpuCount()).setContexts(contexts).build());
    }
    return TrainingMetadata.newBuilder()
        .setFormatVersion(FORMAT_VERSION)
        .setKernelBuild(run.kernelBuild())
        .setBuildId(run.buildId())
        .setTool(run.tool())
        .setContextDepth(CallContext.DEPTH)
        .setContextHash(CONTEXT_HASH)
        .setEntries(entries)
        .setProvenance(MetadataProvenance.newBuilder()
            .setVersion(1)
            .setReference(run.reference())
            .setSnapshots(List.of(run.snapshot()))
            .setRuns(1)
            .setInstructions(run.instructions())
            .setMemoryAccesses(log.accesses())
            .setRedirectedAccesses(log.redirectedAccesses())
            .setProducer(PRODUCER)
            .setCreatedMillis(System.currentTimeMillis())
            .build())
        .build();
  }

  /**
   * Both trainings in one (the fast path's re-training merges a fallback's run into the stored metadata): counts
   * add up, an instruction seen one way in each becomes MIXED, contexts are united (a context seen both ways
   * becomes MIXED), snapshots and references are listed once, the version is one more than the larger input's.
   * The two may come from different references of the build (other boots, other CPU counts): offsets and contexts
   * are KASLR-free, and T only ever runs its kernel image's text (the slow path stops a run that leaves it), so
   * they mean the same on every boot of the build.
   *
   * @throws MetadataException when the two are not of the same build (build-id), tool, format and context
   *     function: their offsets or contexts would not mean the same
   */
  public static TrainingMetadata merge(TrainingMetadata a, TrainingMetadata b) throws MetadataException {
    same("format version", a.getFormatVersion(), b.getFormatVersion());
    same("kernel build", a.getKernelBuild(), b.getKernelBuild());
    same("build-id", a.getBuildId(), b.getBuildId());
    same("tool", a.getTool(), b.getTool());
    same("context depth", a.getContextDepth(), b.getContextDepth());
    same("context hash", a.getContextHash(), b.getContextHash());

    Map<Long, MetadataEntry> byKey = new TreeMap<>();
    for (MetadataEntry e : a.getEntries()) {
      byKey.put(key(e), e);
    }
    for (MetadataEntry e : b.getEntries()) {
      byKey.merge(key(e), e, Metadata::mergeEntries);
    }
    List<MetadataEntry> entries = new ArrayList<>(byKey.values());
    entries.sort(ORDER);

    MetadataProvenance pa = a.getProvenance();
    MetadataProvenance pb = b.getProvenance();
    LinkedHashSet<String> snapshots = new LinkedHashSet<>(pa.getSnapshots());
    snapshots.addAll(pb.getSnapshots());
    LinkedHashSet<String> references = new LinkedHashSet<>(pa.getMoreReferences());
    references.add(pb.getReference());
    references.addAll(pb.getMoreReferences());
    references.remove(pa.getReference());
    return TrainingMetadata.newBuilder(a)
        .setEntries(entries)
        .setProvenance(MetadataProvenance.newBuilder()
            .setVersion(Math.max(pa.getVersion(), pb.getVersion()) + 1)
            .setReference(pa.getReference())
            .setMoreReferences(new ArrayList<>(references))
            .setSnapshots(new ArrayList<>(snapshots))
            .setRuns(pa.getRuns() + pb.getRuns())
            .setInstructions(pa.getInstructions() + pb.getInstructions())
            .setMemoryAccesses(pa.getMemoryAccesses() + pb.getMemoryAccesses())
            .setRedirectedAccesses(pa.getRedirectedAccesses() + pb.getRedirectedAccesses())
            .setProducer(PRODUCER)
            .setCreatedMillis(System.currentTimeMillis())
            .build())
        .build();
  }

  /** Entries in file order: pc offset (unsigned), then operand. */
  public static final Comparator<MetadataEntry> ORDER = (x, y) -> x.getPcOffset() != y.getPcOffset()
      ? Long.compareUnsigned(x.getPcOffset(), y.getPcOffset()) : Integer.compare(x.getOperand(), y.getOperand());

  private static MetadataEntry mergeEntries(MetadataEntry x, MetadataEntry y) {
    Map<Long, RedirectDecision> contexts = new TreeMap<>();
    for (ContextDecision c : x.getContexts()) {
      contexts.put(c.getContext(), c.getDecision());
    }
    for (ContextDecision c : y.getContexts()) {
      contexts.merge(c.getContext(), c.getDecision(), (p, q) -> p == q ? p : RedirectDecision.MIXED);
    }
    List<ContextDecision> merged = new ArrayList<>();
    contexts.forEach((context, decision) -> merged.add(new ContextDecision(context, decision)));
    long local = x.getLocalCount() + y.getLocalCount();
    long redirected = x.getRedirectCount() + y.getRedirectCount();
    long perCpu = x.getPerCpuCount() + y.getPerCpuCount();
    return MetadataEntry.newBuilder(x).setLocalCount(local).setRedirectCount(redirected).setPerCpuCount(perCpu)
        .setDecision(decision(local, redirected, perCpu)).setContexts(merged).build();
  }

  private static long key(MetadataEntry e) {
    return (e.getPcOffset() << 4) ^ (e.getOperand() + 8);
  }

  /** The one way an instruction was served, or MIXED when it was served more than one way. */
  static RedirectDecision decision(long local, long redirected, long perCpu) {
    if (Long.signum(local) + Long.signum(redirected) + Long.signum(perCpu) > 1) {
      return RedirectDecision.MIXED;
    }
    return redirected > 0 ? RedirectDecision.REDIRECT : perCpu > 0 ? RedirectDecision.PER_CPU
        : RedirectDecision.LOCAL;
  }

  private static RedirectDecision decision(byte bits) {
    return decision(bits & DecisionLog.LOCAL, bits & DecisionLog.REDIRECT, bits & DecisionLog.PER_CPU);
  }

  private static void same(String what, Object x, Object y) throws MetadataException {
    if (!Objects.equals(x, y)) {
      throw new MetadataException("cannot merge metadata of different " + what + ": " + x + " and " + y);
    }
  }
}
