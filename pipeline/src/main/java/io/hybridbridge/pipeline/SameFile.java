package io.hybridbridge.pipeline;

import io.hybridbridge.schemas.ScanTarget;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.metrics.Counter;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.GroupByKey;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.transforms.View;
import org.apache.beam.sdk.transforms.WithKeys;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.PCollectionView;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.apache.beam.sdk.values.TypeDescriptors;

/**
 * One inspection per file: a fleet list may name the same snapshot file under several entries (a golden image
 * cloned to many VM ids, a list concatenated twice). The file is identified and inspected once, under its first
 * entry (by id); every row about it is then copied to the other entries, with their snapshot id, VM id and labels.
 * A file is its path as listed (made absolute by {@link ScanTargets}).
 */
public final class SameFile {
  /** The first entry of each distinct file: these are scanned. */
  static final TupleTag<ScanTarget> FILES = new TupleTag<>("files") {};
  /** (first entry's id, another entry of the same file). */
  static final TupleTag<KV<String, ScanTarget>> COPIES = new TupleTag<>("copies") {};

  private SameFile() {}

  static String key(ScanTarget target) {
    return target.getPath();
  }

  /** Distinct files among {@code targets}. */
  public static long distinctFiles(List<ScanTarget> targets) {
    return targets.stream().map(SameFile::key).distinct().count();
  }

  /**
   * {@code targets} in batches of at most {@code size} entries, in their order, the entries of one file in the same
   * batch (so that each batch still inspects a file once; a file listed more than {@code size} times is a batch of
   * its own).
   */
  public static List<List<ScanTarget>> batches(List<ScanTarget> targets, int size) {
    Map<String, List<ScanTarget>> byFile = new LinkedHashMap<>();
    targets.forEach(target -> byFile.computeIfAbsent(key(target), file -> new ArrayList<>()).add(target));
    List<List<ScanTarget>> batches = new ArrayList<>();
    List<ScanTarget> batch = new ArrayList<>();
    for (List<ScanTarget> file : byFile.values()) {
      if (!batch.isEmpty() && batch.size() + file.size() > size) {
        batches.add(List.copyOf(batch));
        batch.clear();
      }
      batch.addAll(file);
    }
    if (!batch.isEmpty()) {
      batches.add(List.copyOf(batch));
    }
    return List.copyOf(batches);
  }

  /** Splits the entries into the files to scan and the copies of each. */
  static PTransform<PCollection<ScanTarget>, PCollectionTuple> once() {
    return new PTransform<>() {
      @Override
      public PCollectionTuple expand(PCollection<ScanTarget> targets) {
        PCollectionTuple split = targets
            .apply("By file", WithKeys.of(SameFile::key).withKeyType(TypeDescriptors.strings()))
            .setCoder(KvCoder.of(StringUtf8Coder.of(), RecordCoder.of(ScanTarget.class)))
            .apply("Entries of a file", GroupByKey.create())
            .apply("First entry scans", ParDo.of(new FirstEntryFn()).withOutputTags(FILES, TupleTagList.of(COPIES)));
        split.get(FILES).setCoder(RecordCoder.of(ScanTarget.class));
        split.get(COPIES).setCoder(KvCoder.of(StringUtf8Coder.of(), RecordCoder.of(ScanTarget.class)));
        return split;
      }
    };
  }

  /** The copies as a side input for {@link #copiedRows}. */
  static PCollectionView<Map<String, Iterable<ScanTarget>>> copiesView(PCollectionTuple once) {
    return once.get(COPIES).apply("Copies by first entry", View.asMultimap());
  }

  /** Each row about a first entry, and a copy of it for every other entry of that file. */
  static <T extends SpecificRecord> ParDo.SingleOutput<T, T> copiedRows(
      PCollectionView<Map<String, Iterable<ScanTarget>>> copies) {
    return ParDo.of(new CopyRowsFn<T>(copies)).withSideInputs(copies);
  }

  static final class FirstEntryFn extends DoFn<KV<String, Iterable<ScanTarget>>, ScanTarget> {
    @ProcessElement
    public void process(@Element KV<String, Iterable<ScanTarget>> file, MultiOutputReceiver out) {
      List<ScanTarget> entries = new ArrayList<>();
      file.getValue().forEach(entries::add);
      entries.sort(Comparator.comparing(t -> t.getId().toString()));
      ScanTarget first = entries.get(0);
      out.get(FILES).output(first);
      for (ScanTarget copy : entries.subList(1, entries.size())) {
        out.get(COPIES).output(KV.of(first.getId().toString(), copy));
      }
    }
  }

  static final class CopyRowsFn<T extends SpecificRecord> extends DoFn<T, T> {
    private final PCollectionView<Map<String, Iterable<ScanTarget>>> copies;
    private final Counter copied = ScanCounters.counter(ScanCounters.COPIED_ROWS);

    CopyRowsFn(PCollectionView<Map<String, Iterable<ScanTarget>>> copies) {
      this.copies = copies;
    }

    @ProcessElement
    public void process(@Element T row, ProcessContext context) {
      context.output(row);
      Schema.Field id = row.getSchema().getField("snapshot_id");
      if (id == null) {
        return; // a table not about one snapshot (metadata)
      }
      Iterable<ScanTarget> others = context.sideInput(copies).get(row.get(id.pos()).toString());
      if (others == null) {
        return;
      }
      Schema.Field vm = row.getSchema().getField("vm_id");
      Schema.Field labels = row.getSchema().getField("labels");
      for (ScanTarget other : others) {
        @SuppressWarnings("unchecked")
        T copy = (T) SpecificData.getForSchema(row.getSchema()).deepCopy(row.getSchema(), row);
        copy.put(id.pos(), other.getId());
        if (vm != null) {
          copy.put(vm.pos(), other.getVmId());
        }
        if (labels != null) {
          copy.put(labels.pos(), new LinkedHashMap<>(other.getLabels()));
        }
        context.output(copy);
        copied.inc();
      }
    }
  }
}
