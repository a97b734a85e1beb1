package io.hybridbridge.emulator.cpu;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * How a region's method goes from block to block: in Java source, with no goto, but mostly without going round a
 * {@code switch}, whose indirect jump the CPU predicts badly (a region's blocks are numbered 0 to n-1 in pc order).
 * <ul>
 *   <li>Block k's code follows a labeled statement {@code Bk} that holds the blocks before it in its scope: a jump
 *       forward to k is {@code break Bk}, straight to its code.
 *   <li>A loop, a block h and the blocks up to the last that jumps back to it, is a labeled {@code while (true)},
 *       {@code Lh}, a scope of its own: a jump back to h from inside is {@code continue Lh}. Loops nest; one that would
 *       overlap another without nesting stays a plain jump back.
 *   <li>Every other jump in the region (back to a block that heads no loop around it, into a loop past its first
 *       block, a return to one of the region's blocks) sets {@code id} and continues the method's outer loop
 *       {@code D}, whose {@code switch} goes to block {@code id}, as a region's run enters its first block. A
 *       loop entered past its first block finds {@code id} there and goes on to it by its own {@code switch}; a
 *       loop entered at its first block (where {@code id} is set to it) skips that.
 * </ul>
 * Counted on 6.12's ps, before: ≈ 307 k of a warm inspection's block ends went round the switch to a block of the
 * same region, ≈ 190 k of them back.
 */
final class RegionControlFlow {
  private final int blocks;
  /** loopEnd[h]: the last block of the loop headed by block h, or -1 when h heads none. */
  private final int[] loopEnd;
  /**
   * scope[k]: the loop whose scope has block k as a unit, by its header: the innermost loop around k, or for a loop's
   * header the loop around that loop; -1: the method.
   */
  private final int[] scope;

  /** The control flow of {@code blocks} blocks; {@code successors[k]}: the blocks block k can go to directly. */
  RegionControlFlow(int blocks, int[][] successors) {
    this.blocks = blocks;
    this.loopEnd = new int[blocks];
    Arrays.fill(loopEnd, -1);
    for (int k = 0; k < blocks; k++) { // a loop per header: from it to the last block that jumps back to it
      for (int to : successors[k]) {
        if (to <= k) {
          loopEnd[to] = Math.max(loopEnd[to], k);
        }
      }
    }
    List<int[]> open = new ArrayList<>(); // the loops around the block being looked at: {header, end}, outermost first
    this.scope = new int[blocks];
    for (int k = 0; k < blocks; k++) {
      while (!open.isEmpty() && open.get(open.size() - 1)[1] < k) {
        open.remove(open.size() - 1);
      }
      scope[k] = open.isEmpty() ? -1 : open.get(open.size() - 1)[0];
      if (loopEnd[k] >= 0) {
        if (!open.isEmpty() && loopEnd[k] > open.get(open.size() - 1)[1]) {
          loopEnd[k] = -1; // it would end past the loop around it: no loop
        } else {
          open.add(new int[] {k, loopEnd[k]});
        }
      }
    }
  }

  /** Whether block {@code h} heads a loop. */
  boolean headsLoop(int h) {
    return loopEnd[h] >= 0;
  }

  /**
   * The statements that go on from block {@code from} to block {@code to} of the region (RIP is set; {@code n}
   * counts the instructions done, which must not pass {@code limit}).
   */
  String jump(int from, int to) {
    String check = "    if (n > limit) {\n      return n;\n    }\n";
    if (to <= from && loopEnd[to] >= from) {
      return "    id = " + to + ";\n" + check + "    continue L" + to + ";\n";
    }
    if (to > from && within(from, scope[to])) {
      return (headsLoop(to) ? "    id = " + to + ";\n" : "") + check + "    break B" + to + ";\n";
    }
    return "    id = " + to + ";\n    continue D;\n";
  }

  /** Whether block {@code k} is in the scope of loop {@code header} (-1: the method). */
  private boolean within(int k, int header) {
    return header < 0 || header <= k && k <= loopEnd[header];
  }

  /** The method's body: its loops, labels and switches around each block's {@code code}. */
  String body(IntFunction<String> code) {
    StringBuilder b = new StringBuilder("    D: while (true) {\n      if (n > limit) {\n        return n;\n      }\n");
    scope(b, -1, 0, blocks - 1, code);
    return b.append("    }\n").toString();
  }

  /** Appends the scope of loop {@code header} (-1: the method), blocks {@code first} to {@code last}. */
  private void scope(StringBuilder b, int header, int first, int last, IntFunction<String> code) {
    List<Integer> units = new ArrayList<>(); // each a block, or a loop nested here (its header)
    for (int k = first; k <= last; k = k == header || !headsLoop(k) ? k + 1 : loopEnd[k] + 1) {
      units.add(k);
    }
    String indent = "      ";
    if (header >= 0) {
      b.append(indent).append("L").append(header).append(": while (true) {\n");
    }
    for (int u = units.size() - 1; u > 0; u--) {
      b.append(indent).append("B").append(units.get(u)).append(": {\n");
    }
    if (last > first) { // which block to go on to: the method's entry, or a loop entered past its first block
      b.append(header >= 0 ? indent + "if (id != " + header + ") {\n" : "").append(indent).append("switch (id) {\n");
      for (int u = 0; u < units.size(); u++) { // the blocks of a unit, then where they go: the unit's start
        int end = u + 1 < units.size() ? units.get(u + 1) - 1 : last;
        for (int k = units.get(u); k <= end; k++) {
          b.append(k == header ? "" : indent + "  case " + k + ":\n");
        }
        if (u > 0 || header < 0) { // a loop's first unit is its header, which the switch is not for
          b.append(indent).append(u > 0 ? "    break B" + units.get(u) + ";\n" : "    break;\n");
        }
      }
      b.append(indent).append("  default:\n").append(indent)
          .append("    throw new IllegalArgumentException(\"no block \" + id);\n").append(indent).append("}\n")
          .append(header >= 0 ? indent + "}\n" : "");
    }
    for (int u = 0; u < units.size(); u++) {
      int k = units.get(u);
      if (u > 0) {
        b.append(indent).append("}\n");
      }
      if (k != header && headsLoop(k)) {
        scope(b, k, k, loopEnd[k], code);
      } else {
        b.append(code.apply(k));
      }
    }
    if (header >= 0) {
      b.append(indent).append("}\n");
    }
  }
}
