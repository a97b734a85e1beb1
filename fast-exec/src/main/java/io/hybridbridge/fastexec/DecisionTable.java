package io.hybridbridge.fastexec;

import io.hybridbridge.schemas.ContextDecision;
import io.hybridbridge.schemas.MetadataEntry;
import io.hybridbridge.schemas.RedirectDecision;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.Metadata;
import io.hybridbridge.taint.metadata.MetadataException;
import io.hybridbridge.taint.slowpath.CallContext;
import java.util.Arrays;
import java.util.List;

/**
 * The training metadata of one (kernel build, tool) compiled for one reference boot: the decision of every
 * (instruction, memory operand) the training executed, by <em>runtime</em> pc (the KASLR-free offsets biased by T's
 * slide once, at compile time), in a flat open-addressing table of primitives: one multiply, a shift and usually one
 * compare per access, no boxing.
 *
 * <p>{@link #find} gives the slot of an access ({@link #ABSENT}: none), {@link #decision} its decision: {@link
 * #LOCAL}, {@link #REDIRECT}, {@link #PER_CPU}, or a mixed handle ({@code >= } {@link #MIXED}) whose call-site
 * contexts {@link #decide} resolves: {@link #LOCAL}, {@link #REDIRECT}, {@link #PER_CPU}, {@link
 * #UNSEEN} (a context training never met) or {@link #AMBIGUOUS} (a context training saw both ways). Immutable and
 * thread-safe.
 */
public final class DecisionTable {
  public static final int LOCAL = 0;
  public static final int REDIRECT = 1;
  /** Redirected to U's per-CPU area: T's per-CPU base plus a U {@code __percpu} offset. */
  public static final int PER_CPU = 2;
  /** Mixed handles start here: {@code handle - MIXED} indexes the per-entry context tables. */
  public static final int MIXED = 3;
  /** No entry: the training never executed this (instruction, operand). */
  public static final int ABSENT = -1;
  /** A mixed entry met in a call-site context training never saw. */
  public static final int UNSEEN = -2;
  /** A mixed entry in a context training saw both ways: even the context does not separate the cases. */
  public static final int AMBIGUOUS = -3;

  private static final long EMPTY = 0; // (pc << 3 | operand & 7) of a kernel pc is never 0

  private final String kernelBuild;
  private final String buildId;
  private final String tool;
  private final int entries;
  private final long[] keys;
  private final int[] values;
  private final int shift;
  /** Per mixed entry: its contexts, sorted, and the decision (LOCAL, REDIRECT, PER_CPU, AMBIGUOUS) of each. */
  private final long[][] mixedContexts;
  private final int[][] mixedDecisions;

  private DecisionTable(TrainingMetadata metadata, long slide) {
    this.kernelBuild = metadata.getKernelBuild();
    this.buildId = metadata.getBuildId();
    this.tool = metadata.getTool();
    List<MetadataEntry> list = metadata.getEntries();
    this.entries = list.size();
    int capacity = Integer.highestOneBit(Math.max(16, entries * 4 - 1)) << 1; // load factor <= 1/4: short probes
    this.keys = new long[capacity];
    this.values = new int[capacity];
    this.shift = 64 - Integer.numberOfTrailingZeros(capacity);
    int mixed = (int) list.stream().filter(e -> e.getDecision() == RedirectDecision.MIXED).count();
    this.mixedContexts = new long[mixed][];
    this.mixedDecisions = new int[mixed][];
    int nextMixed = 0;
    for (MetadataEntry e : list) {
      int value = switch (e.getDecision()) {
        case LOCAL -> LOCAL;
        case REDIRECT -> REDIRECT;
        case PER_CPU -> PER_CPU;
        case MIXED -> MIXED + nextMixed++;
      };
      if (value >= MIXED) {
        compileContexts(value - MIXED, e.getContexts());
      }
      put(key(e.getPcOffset() + slide, e.getOperand()), value);
    }
  }

  /**
   * Compiles {@code metadata} for a reference whose KASLR slide is {@code slide}.
   *
   * @throws MetadataException when the metadata was made with another context function or depth than this code's
   *     (its contexts would not mean the same), or lists an entry twice
   */
  public static DecisionTable compile(TrainingMetadata metadata, long slide) throws MetadataException {
    if (metadata.getFormatVersion() != Metadata.FORMAT_VERSION
        || metadata.getContextDepth() != CallContext.DEPTH
        || !metadata.getContextHash().equals(Metadata.CONTEXT_HASH)) {
      throw new MetadataException(String.format("metadata of %s/%s: format %d, contexts %s of depth %d; this fast "
              + "path reads format %d, contexts %s of depth %d", metadata.getKernelBuild(), metadata.getTool(),
          metadata.getFormatVersion(), metadata.getContextHash(), metadata.getContextDepth(), Metadata.FORMAT_VERSION,
          Metadata.CONTEXT_HASH, CallContext.DEPTH));
    }
    try {
      return new DecisionTable(metadata, slide);
    } catch (IllegalArgumentException e) {
      throw new MetadataException("metadata of " + metadata.getKernelBuild() + "/" + metadata.getTool() + ": "
          + e.getMessage());
    }
  }

  private static long key(long pc, int operand) {
    return pc << 3 | (operand & 7); // operands 0..2, -2, -3: distinct in 3 bits
  }

  private int slot(long key) {
    return (int) ((key * 0x9E3779B97F4A7C15L) >>> shift);
  }

  private void put(long key, int value) {
    int mask = keys.length - 1;
    for (int i = slot(key); ; i = (i + 1) & mask) {
      if (keys[i] == EMPTY) {
        keys[i] = key;
        values[i] = value;
        return;
      }
      if (keys[i] == key) {
        throw new IllegalArgumentException(String.format("entry %#x operand %d listed twice", key >>> 3, key & 7));
      }
    }
  }

  private void compileContexts(int index, List<ContextDecision> contexts) {
    long[] cs = new long[contexts.size()];
    int[] ds = new int[contexts.size()];
    ContextDecision[] sorted = contexts.toArray(new ContextDecision[0]);
    Arrays.sort(sorted, (a, b) -> Long.compare(a.getContext(), b.getContext()));
    for (int i = 0; i < sorted.length; i++) {
      cs[i] = sorted[i].getContext();
      ds[i] = switch (sorted[i].getDecision()) {
        case LOCAL -> LOCAL;
        case REDIRECT -> REDIRECT;
        case PER_CPU -> PER_CPU;
        case MIXED -> AMBIGUOUS;
      };
    }
    mixedContexts[index] = cs;
    mixedDecisions[index] = ds;
  }

  /**
   * The slot of the access of operand {@code operand} (as {@link io.hybridbridge.emulator.cpu.MemoryAccess} numbers
   * it) of the instruction at runtime {@code pc}, or {@link #ABSENT}. Slots are below {@link #capacity()}.
   */
  public int find(long pc, int operand) {
    long key = key(pc, operand);
    int mask = keys.length - 1;
    for (int i = slot(key); ; i = (i + 1) & mask) {
      long k = keys[i];
      if (k == key) {
        return i;
      }
      if (k == EMPTY) {
        return ABSENT;
      }
    }
  }

  /** The decision in {@code slot}: {@link #LOCAL}, {@link #REDIRECT}, {@link #PER_CPU} or a mixed handle. */
  public int decision(int slot) {
    return values[slot];
  }

  /** Slots of the table (a bound of {@link #find}'s answers). */
  public int capacity() {
    return keys.length;
  }

  /** The decision of mixed entry {@code handle} in call-site context {@code context}. */
  public int decide(int handle, long context) {
    int index = handle - MIXED;
    int at = Arrays.binarySearch(mixedContexts[index], context);
    return at < 0 ? UNSEEN : mixedDecisions[index][at];
  }

  public String kernelBuild() {
    return kernelBuild;
  }

  public String buildId() {
    return buildId;
  }

  public String tool() {
    return tool;
  }

  /** Entries (instruction, operand) in the table. */
  public int size() {
    return entries;
  }

  /** Entries whose decision depends on the call-site context. */
  public int mixedEntries() {
    return mixedContexts.length;
  }
}
