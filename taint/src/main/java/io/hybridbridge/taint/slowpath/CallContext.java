package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.decode.Instruction;
import io.hybridbridge.emulator.decode.Mnemonic;
import io.hybridbridge.emulator.cpu.MemoryAccess;

/**
 * A shadow call stack kept from the stack accesses of {@code call} and {@code ret}: the return addresses of the
 * frames the kernel is in, so a decision can be keyed by its call site. The context of an access is a hash of the
 * last {@link #DEPTH} return addresses as KASLR-free offsets (the same on every boot of the build).
 *
 * <p>Frames are matched by stack slot, not counted: a {@code ret} reading slot S pops every frame pushed at or below
 * S, so frames left by non-returning paths (exception fixups, retpoline's inner call) cannot desynchronise it.
 */
public final class CallContext {
  /** Return addresses hashed into a context: enough to tell memcpy/vsnprintf's callers apart (see README). */
  public static final int DEPTH = 4;
  private static final int MAX_FRAMES = 4096;

  private final long slide;
  private final long[] returns = new long[MAX_FRAMES];
  private final long[] slots = new long[MAX_FRAMES];
  private int depth;
  private long cached = Long.MIN_VALUE;

  /** @param slide the reference's KASLR slide (return addresses are recorded minus it) */
  public CallContext(long slide) {
    this.slide = slide;
  }

  /** Follows one stack access of {@code insn}. */
  public void onStackAccess(Instruction insn, MemoryAccess access) {
    if (insn.mnemonic == Mnemonic.CALL && access.role().writes()) {
      if (depth == MAX_FRAMES) {
        System.arraycopy(returns, 1, returns, 0, MAX_FRAMES - 1); // keep the innermost frames
        System.arraycopy(slots, 1, slots, 0, MAX_FRAMES - 1);
        depth--;
      }
      returns[depth] = access.pc() + insn.length - slide;
      slots[depth] = access.address();
      depth++;
      cached = Long.MIN_VALUE;
    } else if (insn.mnemonic == Mnemonic.RET && access.role().reads()) {
      while (depth > 0 && Long.compareUnsigned(slots[depth - 1], access.address()) <= 0) {
        depth--;
        cached = Long.MIN_VALUE;
      }
    }
  }

  /** Forgets every frame (a new system call starts on an empty kernel stack). */
  public void clear() {
    depth = 0;
    cached = Long.MIN_VALUE;
  }

  /** Hash of the innermost {@link #DEPTH} return addresses (KASLR-free). */
  public long context() {
    if (cached == Long.MIN_VALUE) {
      long h = 0x9E3779B97F4A7C15L;
      for (int i = depth - 1; i >= Math.max(0, depth - DEPTH); i--) {
        h = mix(h ^ returns[i]);
      }
      cached = h == Long.MIN_VALUE ? h + 1 : h;
    }
    return cached;
  }

  /** The innermost {@code n} return addresses (KASLR-free), innermost first: for reports. */
  public long[] innermost(int n) {
    int k = Math.min(n, depth);
    long[] out = new long[k];
    for (int i = 0; i < k; i++) {
      out[i] = returns[depth - 1 - i];
    }
    return out;
  }

  /** Stafford's variant 13 of the 64-bit finaliser (splitmix64): a fixed, documented mixing function. */
  static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
