package io.hybridbridge.emulator.cpu;

import java.util.Map;

/** The answers of the cpuid instruction: a fixed model, never the host's. */
@FunctionalInterface
public interface Cpuid {
  /** @return {eax, ebx, ecx, edx} for {@code leaf} (EAX) and {@code subleaf} (ECX) */
  int[] query(int leaf, int subleaf);

  /**
   * A plain 64-bit Intel-like model: vendor GenuineIntel, family 6, the integer and FXSR/SSE/SSE2 features a
   * kernel expects to have found at boot (it decided everything that matters then), no hypervisor-visible
   * extras. Unknown leaves answer zeros, as real CPUs do above their maximum leaf.
   */
  Cpuid DEFAULT = table(Map.of(
      0L, new int[] {0xd, 0x756e6547, 0x6c65746e, 0x49656e69}, // "GenuineIntel"
      1L, new int[] {0x000306c3, 0x00000800, 0x80a22201, 0x078bfbff},
      0x80000000L, new int[] {0x80000008, 0, 0, 0},
      0x80000001L, new int[] {0, 0, 0x00000121, 0x2c100800},
      0x80000008L, new int[] {0x00003028, 0, 0, 0}));

  /** A model from a table keyed by {@code leaf << 32 | subleaf} or, for leaves without subleaves, by leaf. */
  static Cpuid table(Map<Long, int[]> answers) {
    return (leaf, subleaf) -> {
      int[] a = answers.get(((leaf & 0xffffffffL) << 32) | (subleaf & 0xffffffffL));
      if (a == null) {
        a = answers.get(leaf & 0xffffffffL);
      }
      return a == null ? new int[4] : a.clone();
    };
  }
}
