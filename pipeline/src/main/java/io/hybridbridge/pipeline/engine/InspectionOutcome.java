package io.hybridbridge.pipeline.engine;

import io.hybridbridge.schemas.FallbackRow;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.apache.avro.specific.SpecificRecord;

/**
 * What one inspection of one (snapshot, tool) gave: rows (fast or slow path), a fallback of the fast path, or a
 * failure with its reason; plus the instruction counts of the run. Wall time is measured by the scan around the
 * call, the same way for every engine.
 */
public final class InspectionOutcome<M> {
  /** Which way the inspection ended. */
  public enum Kind {
    /** Rows from the fast path (memoized metadata only). */
    FAST,
    /** Rows from the slow path, and what it learnt. */
    SLOW,
    /** The fast path stopped on something its metadata does not cover: no rows, fallback records. */
    FALLBACK,
    /** No rows: {@link #reason()} says why. */
    FAILED,
  }

  private final Kind kind;
  private final List<? extends SpecificRecord> rows;
  private final M learnt;
  private final List<FallbackRow> fallbacks;
  private final String reason;
  private final long instructions;
  private final long redirectedInstructions;

  private InspectionOutcome(Kind kind, List<? extends SpecificRecord> rows, M learnt, List<FallbackRow> fallbacks,
      String reason, long instructions, long redirectedInstructions) {
    this.kind = kind;
    this.rows = List.copyOf(rows);
    this.learnt = learnt;
    this.fallbacks = List.copyOf(fallbacks);
    this.reason = reason;
    this.instructions = instructions;
    this.redirectedInstructions = redirectedInstructions;
  }

  /** The fast path answered with {@code rows} (the tool's table rows). */
  public static <M> InspectionOutcome<M> fast(List<? extends SpecificRecord> rows, long instructions,
      long redirectedInstructions) {
    return new InspectionOutcome<>(Kind.FAST, rows, null, List.of(), null, instructions, redirectedInstructions);
  }

  /** The slow path answered with {@code rows} and learnt {@code learnt} for the snapshot's (build, tool). */
  public static <M> InspectionOutcome<M> slow(List<? extends SpecificRecord> rows, M learnt, long instructions,
      long redirectedInstructions) {
    return new InspectionOutcome<>(Kind.SLOW, rows, Objects.requireNonNull(learnt, "learnt"), List.of(), null,
        instructions, redirectedInstructions);
  }

  /** The fast path stopped: {@code fallbacks} say where and why (at least one). */
  public static <M> InspectionOutcome<M> fallback(List<FallbackRow> fallbacks, long instructions,
      long redirectedInstructions) {
    if (fallbacks.isEmpty()) {
      throw new IllegalArgumentException("a fallback outcome needs at least one fallback record");
    }
    return new InspectionOutcome<>(Kind.FALLBACK, List.of(), null, fallbacks, null, instructions,
        redirectedInstructions);
  }

  /** No rows, for {@code reason} (specific: what failed, where). */
  public static <M> InspectionOutcome<M> failed(String reason, long instructions, long redirectedInstructions) {
    return new InspectionOutcome<>(Kind.FAILED, List.of(), null, List.of(), Objects.requireNonNull(reason, "reason"),
        instructions, redirectedInstructions);
  }

  public Kind kind() {
    return kind;
  }

  public List<? extends SpecificRecord> rows() {
    return rows;
  }

  /** What a slow run learnt; empty otherwise. */
  public Optional<M> learnt() {
    return Optional.ofNullable(learnt);
  }

  public List<FallbackRow> fallbacks() {
    return fallbacks;
  }

  /** Why it failed; null unless {@link Kind#FAILED}. */
  public String reason() {
    return reason;
  }

  public long instructions() {
    return instructions;
  }

  public long redirectedInstructions() {
    return redirectedInstructions;
  }

  @Override
  public String toString() {
    return kind + (reason == null ? "" : ": " + reason) + " (" + rows.size() + " rows, " + fallbacks.size()
        + " fallbacks, " + instructions + " instructions)";
  }
}
