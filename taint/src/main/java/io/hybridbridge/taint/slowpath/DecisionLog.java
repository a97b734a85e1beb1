package io.hybridbridge.taint.slowpath;

import io.hybridbridge.taint.policy.RedirectPolicy.Route;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * What the slow path decided for every executed memory access, per (KASLR-free pc, operand): how often it was
 * served locally, how often redirected and how often redirected to U's per-CPU area ({@link Route}), and under which
 * call-site contexts ({@link CallContext}). An instruction seen more than one way is <em>mixed</em>; its contexts tell the fast path which way to go, unless one context itself saw
 * both ways (then the fast path must fall back there).
 */
public final class DecisionLog {
  /** Bits of a context's decisions. */
  public static final byte LOCAL = 1, REDIRECT = 2, PER_CPU = 4;

  /** One (pc, operand): counts and per-context decision bits. */
  public static final class Entry {
    final long pcOffset;
    final int operand;
    long local;
    long redirected;
    long perCpu;
    final Map<Long, Byte> contexts = new HashMap<>();
    private long lastContext = Long.MIN_VALUE;
    private byte lastBits;

    Entry(long pcOffset, int operand) {
      this.pcOffset = pcOffset;
      this.operand = operand;
    }

    public long pcOffset() {
      return pcOffset;
    }

    public int operand() {
      return operand;
    }

    public long localCount() {
      return local;
    }

    public long redirectCount() {
      return redirected;
    }

    public long perCpuCount() {
      return perCpu;
    }

    public boolean mixed() {
      return Long.signum(local) + Long.signum(redirected) + Long.signum(perCpu) > 1;
    }

    /** Context hash → {@link #LOCAL} | {@link #REDIRECT} | {@link #PER_CPU} bits. */
    public Map<Long, Byte> contexts() {
      return Collections.unmodifiableMap(contexts);
    }

    void add(Route route, long context) {
      byte bit = switch (route) {
        case LOCAL -> {
          local++;
          yield LOCAL;
        }
        case REDIRECT -> {
          redirected++;
          yield REDIRECT;
        }
        case PER_CPU -> {
          perCpu++;
          yield PER_CPU;
        }
      };
      if (context == lastContext && (lastBits & bit) != 0) {
        return; // the common case: the same call site again, the same way
      }
      byte bits = (byte) (contexts.getOrDefault(context, (byte) 0) | bit);
      contexts.put(context, bits);
      lastContext = context;
      lastBits = bits;
    }
  }

  private final Map<Long, Entry> entries = new HashMap<>();
  private Entry last;
  private long accesses;
  private long redirectedAccesses;

  /** Records one access of the instruction at KASLR-free {@code pcOffset}, operand {@code operand}. */
  public void record(long pcOffset, int operand, Route route, long context) {
    accesses++;
    if (route != Route.LOCAL) {
      redirectedAccesses++;
    }
    Entry e = last;
    if (e == null || e.pcOffset != pcOffset || e.operand != operand) {
      long key = key(pcOffset, operand);
      e = entries.get(key);
      if (e == null) {
        e = new Entry(pcOffset, operand);
        entries.put(key, e);
      }
      last = e;
    }
    e.add(route, context);
  }

  private static long key(long pcOffset, int operand) {
    return (pcOffset << 4) ^ (operand + 8); // operands -4..3
  }

  public List<Entry> entries() {
    List<Entry> list = new ArrayList<>(entries.values());
    list.sort((a, b) -> a.pcOffset != b.pcOffset ? Long.compareUnsigned(a.pcOffset, b.pcOffset)
        : Integer.compare(a.operand, b.operand));
    return list;
  }

  public long accesses() {
    return accesses;
  }

  public long redirectedAccesses() {
    return redirectedAccesses;
  }

  /** Distinct instructions (pc, operand) that were redirected at least once (either route). */
  public long redirectedInstructions() {
    return entries.values().stream().filter(e -> e.redirected + e.perCpu > 0).count();
  }

  public long mixedInstructions() {
    return entries.values().stream().filter(Entry::mixed).count();
  }
}
