package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.ToolException;
import io.hybridbridge.emulator.tools.Tools;
import io.hybridbridge.pipeline.StatusRows.Effort;
import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.InspectionOutcome;
import io.hybridbridge.schemas.FallbackRow;
import io.hybridbridge.schemas.ScanOutcome;
import io.hybridbridge.schemas.SnapshotRef;
import io.hybridbridge.schemas.StatusRow;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificRecord;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.SerializableCoder;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;

/**
 * The outputs the inspection stages share (fast execution and re-training): one collection of rows per tool table
 * (tag id = table name), {@code status} rows, {@code fallbacks} rows, the (snapshot, tool) pairs to re-run on the
 * slow path, and the metadata units slow runs learnt. Also the one place that turns an engine's outcome into them.
 */
final class InspectionOutputs<M> implements Serializable {
  final TupleTag<StatusRow> status = new TupleTag<>("status");
  final TupleTag<FallbackRow> fallbacks = new TupleTag<>("fallbacks");
  final TupleTag<KV<BuildTool, KV<SnapshotRef, Effort>>> retry = new TupleTag<>("retry");
  final TupleTag<KV<BuildTool, M>> learnt = new TupleTag<>("learnt");
  private final Map<String, TupleTag<SpecificRecord>> tables = new LinkedHashMap<>();
  private final Map<String, Class<? extends SpecificRecord>> rowTypes = new LinkedHashMap<>();
  private final List<String> toolNames = new ArrayList<>();

  InspectionOutputs(List<InspectionTool> tools) {
    for (InspectionTool tool : tools) {
      toolNames.add(tool.name());
      rowTypes.put(tool.table(), RowTables.rowType(tool));
      tables.computeIfAbsent(tool.table(), TupleTag::new);
    }
  }

  List<String> toolNames() {
    return toolNames;
  }

  /** The tool tables' tags, in tool order. */
  Map<String, TupleTag<SpecificRecord>> tables() {
    return tables;
  }

  /** Every output tag but {@code main}. */
  TupleTagList others(TupleTag<?> main) {
    List<TupleTag<?>> all = new ArrayList<>(List.of(status, fallbacks, retry, learnt));
    all.addAll(tables.values());
    all.remove(main);
    return TupleTagList.of(all);
  }

  /** Gives every output of {@code out} its coder. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  PCollectionTuple withCoders(PCollectionTuple out, Coder<M> metadataCoder) {
    out.get(status).setCoder(RecordCoder.of(StatusRow.class));
    out.get(fallbacks).setCoder(RecordCoder.of(FallbackRow.class));
    out.get(retry).setCoder(KvCoder.of(BuildTool.coder(),
        KvCoder.of(RecordCoder.of(SnapshotRef.class), SerializableCoder.of(Effort.class))));
    out.get(learnt).setCoder(KvCoder.of(BuildTool.coder(), metadataCoder));
    for (Map.Entry<String, TupleTag<SpecificRecord>> table : tables.entrySet()) {
      out.get(table.getValue()).setCoder((Coder) RecordCoder.of(rowTypes.get(table.getKey())));
    }
    return out;
  }

  /** The tool of a tool name (tools are constants of the emulator: looked up, not serialized). */
  static InspectionTool tool(String name) {
    try {
      return Tools.byName(name);
    } catch (ToolException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /**
   * Writes a final outcome (rows, slow-path rows and what was learnt, or a failure) as rows and a status row;
   * {@code effort} covers every attempt at this (snapshot, tool) including this one.
   */
  void emitFinal(DoFn.MultiOutputReceiver out, SnapshotRef snapshot, InspectionTool tool,
      InspectionOutcome<M> outcome, Effort effort) {
    switch (outcome.kind()) {
      case FAST, SLOW -> {
        String wrong = wrongRow(snapshot, tool, outcome.rows());
        if (wrong != null) {
          emitFailure(out, snapshot, tool, StatusRows.INTERNAL, wrong, effort);
          return;
        }
        TupleTag<SpecificRecord> table = tables.get(tool.table());
        outcome.rows().forEach(row -> out.get(table).output(row));
        ScanCounters.counter(ScanCounters.ROWS).inc(outcome.rows().size());
        boolean fast = outcome.kind() == InspectionOutcome.Kind.FAST;
        outcome.learnt().ifPresent(unit -> out.get(learnt).output(KV.of(BuildTool.of(snapshot, tool.name()), unit)));
        out.get(status).output(StatusRows.ofTool(snapshot, tool.name(),
            fast ? ScanOutcome.OK_FAST : ScanOutcome.OK_SLOW, null, null, effort));
        ScanCounters.counter(fast ? ScanCounters.OK_FAST : ScanCounters.OK_SLOW).inc();
      }
      case FAILED -> emitFailure(out, snapshot, tool, StatusRows.INSPECTION_FAILED,
          (effort.fallbacks() > 0 ? "after " + effort.fallbacks() + " fallback(s) of the fast path, the slow path"
              + " failed: " : "") + outcome.reason(), effort);
      case FALLBACK -> throw new IllegalArgumentException("a fallback is not a final outcome");
    }
  }

  /** A FAILED status row for this (snapshot, tool). */
  void emitFailure(DoFn.MultiOutputReceiver out, SnapshotRef snapshot, InspectionTool tool, String kind,
      String reason, Effort effort) {
    out.get(status).output(StatusRows.ofTool(snapshot, tool.name(), ScanOutcome.FAILED, kind, reason, effort));
    ScanCounters.counter(ScanCounters.FAILED).inc();
  }

  /** Why rows from an engine cannot go to the tool's table (wrong type or about another snapshot); null if fine. */
  private String wrongRow(SnapshotRef snapshot, InspectionTool tool, List<? extends SpecificRecord> rows) {
    Class<? extends SpecificRecord> type = rowTypes.get(tool.table());
    for (SpecificRecord row : rows) {
      if (!type.isInstance(row)) {
        return "the engine returned a " + row.getClass().getSimpleName() + " for table " + tool.table();
      }
      Object about = ((GenericRecord) row).get("snapshot_id");
      if (!Objects.equals(String.valueOf(about), snapshot.getTarget().getId())) {
        return "the engine returned a row about snapshot " + about + " for " + snapshot.getTarget().getId();
      }
    }
    return null;
  }
}
