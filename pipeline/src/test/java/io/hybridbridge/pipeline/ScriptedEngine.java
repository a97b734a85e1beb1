package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.InspectionOutcome;
import io.hybridbridge.pipeline.engine.MetadataView;
import io.hybridbridge.pipeline.engine.SnapshotInspector;
import io.hybridbridge.pipeline.engine.SnapshotSession;
import io.hybridbridge.schemas.FallbackRow;
import io.hybridbridge.schemas.ModuleRow;
import io.hybridbridge.schemas.ScanTarget;
import io.hybridbridge.schemas.SnapshotRef;
import io.hybridbridge.schemas.SystemRow;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.Optional;
import org.apache.avro.specific.SpecificRecord;

/**
 * TEST DOUBLE of an engine for the plumbing's unit tests: no emulation at all, outcomes scripted by the snapshot.
 * Each snapshot has a "shape" label (the code paths its workload would take); a slow run learns {shape}, the fast
 * path answers only when the metadata holds the snapshot's shape and falls back otherwise. Ids containing
 * "fails", "throws", "wrong-rows" or "always-fast" misbehave accordingly. Rows are one row per snapshot for the
 * tools system and lsmod.
 */
final class ScriptedEngine extends StringSetMetadataEngine {
  static final long FAST_INSTRUCTIONS = 1_000;
  static final long SLOW_INSTRUCTIONS = 50_000;
  /** Sessions opened per snapshot id, in this JVM (Direct runner): a scan opens each snapshot once for its tools. */
  static final Map<String, AtomicInteger> SESSIONS = new ConcurrentHashMap<>();

  /** What {@link #buildsKeptOpen} says. */
  private final int buildsKeptOpen;

  ScriptedEngine() {
    this(Integer.MAX_VALUE);
  }

  ScriptedEngine(int buildsKeptOpen) {
    this.buildsKeptOpen = buildsKeptOpen;
  }

  @Override
  public String name() {
    return "scripted (test)";
  }

  @Override
  public int buildsKeptOpen() {
    return buildsKeptOpen;
  }

  @Override
  public SnapshotInspector<List<String>> open() {
    return new SnapshotInspector<>() {
      @Override
      public InspectionOutcome<List<String>> inspect(SnapshotRef snapshot, InspectionTool tool,
          MetadataView<List<String>> metadata) {
        String id = snapshot.getTarget().getId();
        String shape = snapshot.getTarget().getLabels().getOrDefault("shape", "plain");
        if (id.contains("throws")) {
          throw new IllegalStateException("scripted bug");
        }
        if (id.contains("fails")) {
          return InspectionOutcome.failed("scripted failure of " + tool.name(), 7, 1);
        }
        List<? extends SpecificRecord> rows = id.contains("wrong-rows")
            ? List.of(moduleRow(snapshot, shape)) : List.of(row(snapshot, tool, shape));
        Optional<List<String>> known = metadata.get(BuildTool.of(snapshot, tool.name()));
        if (id.contains("always-fast")) {
          return InspectionOutcome.fast(rows, FAST_INSTRUCTIONS, 10);
        }
        if (known.isEmpty()) {
          return InspectionOutcome.slow(rows, List.of(shape), SLOW_INSTRUCTIONS, 500);
        }
        if (known.get().contains(shape)) {
          return InspectionOutcome.fast(rows, FAST_INSTRUCTIONS, 10);
        }
        return InspectionOutcome.fallback(List.of(FallbackRow.newBuilder()
            .setSnapshotId(id).setVmId(snapshot.getTarget().getVmId()).setKernelBuild(snapshot.getKernelBuild())
            .setBuildId(snapshot.getBuildId()).setTool(tool.name()).setPcOffset(0xffffffff81000000L)
            .setReason("unseen shape " + shape).setInstructionsBefore(FAST_INSTRUCTIONS / 2).build()),
            FAST_INSTRUCTIONS / 2, 5);
      }

      @Override
      public SnapshotSession<List<String>> session(SnapshotRef snapshot) {
        SESSIONS.computeIfAbsent(snapshot.getTarget().getId(), id -> new AtomicInteger()).incrementAndGet();
        return SnapshotInspector.super.session(snapshot);
      }

      @Override
      public void close() {}
    };
  }

  private static SpecificRecord row(SnapshotRef snapshot, InspectionTool tool, String shape) {
    return switch (tool.table()) {
      case "system" -> SystemRow.newBuilder()
          .setSnapshotId(snapshot.getTarget().getId()).setVmId(snapshot.getTarget().getVmId())
          .setKernelBuild(snapshot.getKernelBuild()).setSysname("Linux").setNodename(shape)
          .setRelease(snapshot.getKernelBuild()).setVersion("#1").setMachine("x86_64").setDomainname("(none)")
          .setProcVersion(snapshot.getBanner()).setUptimeSeconds(1.5).setIdleSeconds(1.0).build();
      case "modules" -> moduleRow(snapshot, shape);
      default -> throw new IllegalArgumentException("the scripted engine has no rows for " + tool.name());
    };
  }

  private static ModuleRow moduleRow(SnapshotRef snapshot, String shape) {
    return ModuleRow.newBuilder()
        .setSnapshotId(snapshot.getTarget().getId()).setVmId(snapshot.getTarget().getVmId())
        .setKernelBuild(snapshot.getKernelBuild()).setName("mod_" + shape).setSizeBytes(4096).setRefcount(0)
        .setUsedBy(List.of()).setState("Live").setAddress(0).build();
  }

  /** An identified snapshot as the stages after Identify see it (nothing is opened by this engine). */
  static SnapshotRef snapshot(String id, String buildId, String shape) {
    return SnapshotRef.newBuilder()
        .setTarget(ScanTarget.newBuilder().setId(id).setPath("/nowhere/" + id).setVmId("vm-" + id)
            .setLabels(Map.of("shape", shape)).build())
        .setFormat("ELF").setSizeBytes(1 << 20).setKernelBuild("build-" + buildId).setBuildId(buildId)
        .setBanner("Linux version build-" + buildId + " #1").setReferenceId(buildId + "/reference")
        .setReferencePath("/nowhere/" + buildId + "/reference.elf").build();
  }
}
