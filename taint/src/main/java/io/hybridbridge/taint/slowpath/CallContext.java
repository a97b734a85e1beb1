package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.decode.Instruction;
import io.hybridbridge.emulator.decode.Mnemonic;
import io.hybridbridge.emulator.cpu.MemoryAccess;
import io.hybridbridge.emulator.kernel.KernelLayout;

/**
 * A shadow call stack kept from the stack accesses of {@code call} and {@code ret}: the return addresses of the
 * frames the kernel is in, so a decision can be keyed by its call site. The context of an access ({@link
 * #context(long)}) is a hash of the last {@link #DEPTH} return addresses as KASLR-free offsets (the same on every
 * boot of the build) and of the layout region of the accessed address (image, direct map, vmalloc, vmemmap, other).
 *
 * <p>Why the region: one call site may pass either a constant of T's image or an object of U to the same helper
 * (6.12's wq_worker_comm formats "%s" of a rodata "" or of a workqueue's name through one merged scnprintf call):
 * the return addresses are the same, the decision is not, and the region tells them apart (measured: 6.12 ps had 2
 * instructions whose call sites saw both decisions, none with the region).
 *
 * <p>Frames are matched by stack slot, not counted: a {@code ret} reading slot S pops every frame pushed at or below
 * S, so frames left by non-returning paths (exception fixups, retpoline's inner call) cannot desynchronise it.
 */
public final class CallContext {
  /** Return addresses hashed into a context: enough to tell memcpy/vsnprintf's callers apart (see README). */
  public static final int DEPTH = 4;
  private static final int MAX_FRAMES = 4096;
  /** Frames room is made for first, deeper than kernels call; grown up to MAX_FRAMES (a context lives one inspection). */
  private static final int FIRST_FRAMES = 64;

  private final long slide;
  private final KernelLayout layout;
  private long[] returns = new long[FIRST_FRAMES];
  private long[] slots = new long[FIRST_FRAMES];
  private int depth;
  private long cached = Long.MIN_VALUE;

  /** @param layout the reference's layout: its slide (return addresses are recorded minus it) and regions */
  public CallContext(KernelLayout layout) {
    this.layout = layout;
    this.slide = layout.slide();
  }

  /** Follows one stack access of {@code insn}. */
  public void onStackAccess(Instruction insn, MemoryAccess access) {
    if (insn.mnemonic == Mnemonic.CALL && access.role().writes()) {
      call(access.pc() + insn.length, access.address());
    } else if (insn.mnemonic == Mnemonic.RET && access.role().reads()) {
      ret(access.address());
    }
  }

  /** A call pushed {@code returnAddress} (runtime) at stack slot {@code slot}. */
  public void call(long returnAddress, long slot) {
    if (depth == MAX_FRAMES) {
      System.arraycopy(returns, 1, returns, 0, MAX_FRAMES - 1); // keep the innermost frames
      System.arraycopy(slots, 1, slots, 0, MAX_FRAMES - 1);
      depth--;
    } else if (depth == returns.length) {
      returns = java.util.Arrays.copyOf(returns, Math.min(2 * depth, MAX_FRAMES));
      slots = java.util.Arrays.copyOf(slots, returns.length);
    }
    returns[depth] = returnAddress - slide;
    slots[depth] = slot;
    depth++;
    cached = Long.MIN_VALUE;
  }

  /** A ret popped stack slot {@code slot}: every frame pushed at or below it is gone. */
  public void ret(long slot) {
    while (depth > 0 && Long.compareUnsigned(slots[depth - 1], slot) <= 0) {
      depth--;
      cached = Long.MIN_VALUE;
    }
  }

  /** Forgets every frame (a new system call starts on an empty kernel stack). */
  public void clear() {
    depth = 0;
    cached = Long.MIN_VALUE;
  }

  /** The context of an access to {@code address}: the call sites' hash mixed with the address's region. */
  public long context(long address) {
    long h = mix(callSites() ^ regionCode(layout.regionOf(address)));
    return h == Long.MIN_VALUE ? h + 1 : h;
  }

  /** The region's number in the metadata's context function (fixed here: not the enum's order). */
  private static long regionCode(KernelLayout.Region region) {
    return switch (region) {
      case IMAGE -> 1;
      case DIRECT_MAP -> 2;
      case VMALLOC -> 3;
      case VMEMMAP -> 4;
      case FIXED -> 5;
    };
  }

  /** Hash of the innermost {@link #DEPTH} return addresses (KASLR-free), cached until the stack changes. */
  private long callSites() {
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
