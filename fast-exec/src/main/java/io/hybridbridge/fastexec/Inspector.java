package io.hybridbridge.fastexec;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.fastexec.store.MetadataStore;
import io.hybridbridge.schemas.FallbackRow;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.Metadata;
import io.hybridbridge.taint.metadata.MetadataException;
import io.hybridbridge.taint.slowpath.SlowPath;
import io.hybridbridge.taint.slowpath.SlowPathException;
import io.hybridbridge.taint.slowpath.UntrustedSnapshot;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/**
 * The paths of one reference's inspections, as a user chooses them (DESIGN §5.5): {@link Mode#SLOW} (taint only),
 * {@link Mode#FAST} (the memoized metadata only: a fallback gives no rows), {@link Mode#AUTO} (fast, and on a
 * fallback or without metadata the slow path on that snapshot, whose rows are returned and whose metadata is learnt:
 * later inspections of this inspector use it at once, and {@link #learnt()} gives it to commit to the store). An
 * audit rate re-runs a deterministic sample of the fast inspections on the slow path and compares the rows.
 *
 * <p>Not thread-safe (one per {@link FastPath}).
 */
public final class Inspector {
  /** Which path inspections take. */
  public enum Mode { SLOW, FAST, AUTO }

  /** How an inspection ended. */
  public enum Outcome {
    /** Rows from the fast path. */
    FAST,
    /** Rows from the slow path: asked for, or (AUTO) after a fallback or without metadata. */
    SLOW,
    /** FAST mode: the fast path fell back; no rows. */
    FELL_BACK,
    /** FAST mode: the store has no metadata for this build and tool; no rows. */
    NO_METADATA,
  }

  /**
   * One inspection: its rows (empty for FELL_BACK and NO_METADATA), the fast run if there was one (with the
   * fallback if it fell back), the slow run if there was one, and the audit's verdict (null when not audited).
   */
  public record Result(String tool, String snapshotId, Outcome outcome, List<? extends SpecificRecord> rows,
      FastPath.Inspection fast, SlowPath.Inspection slow, Audit audit) {
    /** The fast path's fallback, or null. */
    public FallbackRow fallback() {
      return fast == null ? null : fast.fallback();
    }
  }

  /** A fast inspection re-run on the slow path: whether the rows were the same, and the first difference. */
  public record Audit(boolean agrees, String difference) {}

  private final FastPath fast;
  private final Mode mode;
  private final double auditRate;
  private final Map<String, TrainingMetadata> known = new HashMap<>();
  private final Map<String, TrainingMetadata> learnt = new LinkedHashMap<>();
  private int audits;
  private int disagreements;

  /**
   * @param base the store's version the inspections start from (its units of this reference's build are used)
   * @param auditRate the fraction of fast inspections re-run on the slow path, 0..1
   */
  public Inspector(FastPath fast, Mode mode, MetadataStore.Version base, double auditRate) {
    if (!(auditRate >= 0 && auditRate <= 1)) {
      throw new IllegalArgumentException("audit rate must be within 0..1: " + auditRate);
    }
    this.fast = fast;
    this.mode = mode;
    this.auditRate = auditRate;
    String buildId = fast.identity().buildId();
    base.units().forEach((key, metadata) -> {
      if (key.buildId().equals(buildId)) {
        known.put(key.tool(), metadata);
      }
    });
  }

  /**
   * Inspects {@code snapshot} with {@code tool} on this inspector's path.
   *
   * @throws SlowPathException the inspection failed on the path that had to answer (the fast path's failures
   *     that are not fallbacks, the slow path's)
   * @throws MetadataException the store's metadata cannot drive this reference, or a slow run's cannot be merged
   */
  public Result inspect(UntrustedSnapshot snapshot, InspectionTool tool)
      throws SlowPathException, MetadataException {
    if (mode == Mode.SLOW) {
      SlowPath.Inspection slow = fast.slow().inspect(snapshot, tool);
      return new Result(tool.name(), snapshot.id(), Outcome.SLOW, slow.rows(), null, slow, null);
    }
    TrainingMetadata metadata = known.get(tool.name());
    if (metadata == null) {
      if (mode == Mode.FAST) {
        return new Result(tool.name(), snapshot.id(), Outcome.NO_METADATA, List.of(), null, null, null);
      }
      SlowPath.Inspection slow = learn(snapshot, tool);
      return new Result(tool.name(), snapshot.id(), Outcome.SLOW, slow.rows(), null, slow, null);
    }
    FastPath.Inspection run = fast.inspect(snapshot, tool, metadata);
    if (run.fellBack()) {
      if (mode == Mode.FAST) {
        return new Result(tool.name(), snapshot.id(), Outcome.FELL_BACK, List.of(), run, null, null);
      }
      SlowPath.Inspection slow = learn(snapshot, tool);
      return new Result(tool.name(), snapshot.id(), Outcome.SLOW, slow.rows(), run, slow, null);
    }
    if (!sampled(snapshot.id(), auditRate)) {
      return new Result(tool.name(), snapshot.id(), Outcome.FAST, run.rows(), run, null, null);
    }
    SlowPath.Inspection slow = mode == Mode.AUTO ? learn(snapshot, tool) : fast.slow().inspect(snapshot, tool);
    Audit audit = compare(run.rows(), slow.rows());
    audits++;
    if (!audit.agrees()) {
      disagreements++;
    }
    return new Result(tool.name(), snapshot.id(), Outcome.FAST, run.rows(), run, slow, audit);
  }

  /** Runs the slow path and learns its metadata (AUTO: a fallback's re-training, or an audit's free training). */
  private SlowPath.Inspection learn(UntrustedSnapshot snapshot, InspectionTool tool)
      throws SlowPathException, MetadataException {
    SlowPath.Inspection slow = fast.slow().inspect(snapshot, tool);
    TrainingMetadata delta = slow.metadata();
    known.put(tool.name(), merged(known.get(tool.name()), delta));
    learnt.put(tool.name(), merged(learnt.get(tool.name()), delta));
    return slow;
  }

  private static TrainingMetadata merged(TrainingMetadata older, TrainingMetadata newer) throws MetadataException {
    return older == null ? newer : Metadata.merge(older, newer);
  }

  /** What AUTO inspections learnt, one delta per tool (not merged with the store: {@link MetadataStore#commit}). */
  public List<TrainingMetadata> learnt() {
    return new ArrayList<>(learnt.values());
  }

  /** Fast inspections re-run on the slow path. */
  public int audits() {
    return audits;
  }

  /** Of those, how many gave other rows. */
  public int disagreements() {
    return disagreements;
  }

  private static Audit compare(List<? extends SpecificRecord> fastRows, List<? extends SpecificRecord> slowRows) {
    if (fastRows.equals(slowRows)) {
      return new Audit(true, null);
    }
    if (fastRows.size() != slowRows.size()) {
      return new Audit(false, "fast path " + fastRows.size() + " rows, slow path " + slowRows.size());
    }
    for (int i = 0; i < fastRows.size(); i++) {
      if (!fastRows.get(i).equals(slowRows.get(i))) {
        return new Audit(false, "row " + i + ": fast " + fastRows.get(i) + ", slow " + slowRows.get(i));
      }
    }
    return new Audit(false, "rows differ");
  }

  /**
   * Whether the snapshot named {@code snapshotId} is in the audit sample of {@code rate}: the first 53 bits of the
   * SHA-256 of its id, as a fraction of 1, below the rate. Deterministic (the same snapshots on every run and every
   * machine) and independent of the order snapshots come in.
   */
  public static boolean sampled(String snapshotId, double rate) {
    if (rate <= 0) {
      return false;
    }
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(snapshotId.getBytes(StandardCharsets.UTF_8));
      double fraction = (ByteBuffer.wrap(digest).getLong() >>> 11) * 0x1.0p-53;
      return fraction < rate;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform has SHA-256", e);
    }
  }
}
