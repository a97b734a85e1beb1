package io.hybridbridge.emulator.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.IntStream;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The control flow of a region's method, on random graphs: each block's code records that it ran and goes on to the
 * block a script names, by {@link RegionControlFlow#jump} when it is one of its successors, as a return into the
 * region otherwise; compiled by javac, the method must run the script's blocks in its order, from any entry.
 */
class RegionControlFlowTest {
  @Test
  void runsEveryPathOfRandomGraphsInItsOrder(@TempDir Path dir) throws Exception {
    Random random = new Random(42);
    int graphs = 60;
    List<int[][]> successors = new ArrayList<>();
    List<Path> sources = new ArrayList<>();
    for (int g = 0; g < graphs; g++) {
      int blocks = 1 + random.nextInt(g < 10 ? 4 : 40);
      int[][] to = new int[blocks][];
      for (int k = 0; k < blocks; k++) { // mostly forward and near, as a function's blocks are; some back, some far
        int[] targets = new int[random.nextInt(3)];
        for (int t = 0; t < targets.length; t++) {
          targets[t] = random.nextInt(4) == 0 ? random.nextInt(blocks)
              : Math.max(0, Math.min(blocks - 1, k + random.nextInt(5) - 1));
        }
        to[k] = IntStream.of(targets).distinct().toArray();
      }
      successors.add(to);
      Path source = dir.resolve("Flow" + g + ".java");
      Files.writeString(source, source("Flow" + g, to));
      sources.add(source);
    }
    List<String> args = new ArrayList<>(List.of("-d", dir.toString(), "-nowarn"));
    sources.forEach(s -> args.add(s.toString()));
    assertEquals(0, ToolProvider.getSystemJavaCompiler().run(null, null, null, args.toArray(new String[0])));
    try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()})) {
      for (int g = 0; g < graphs; g++) {
        Method run = loader.loadClass("Flow" + g).getMethod("run", int.class, int[].class, int[].class);
        int[][] to = successors.get(g);
        for (int walk = 0; walk < 20; walk++) {
          int[] path = new int[1 + random.nextInt(300)];
          path[0] = random.nextInt(to.length);
          for (int s = 1; s < path.length; s++) { // along an edge, or (a return) anywhere in the region
            int[] next = to[path[s - 1]];
            path[s] = next.length > 0 && random.nextInt(8) != 0 ? next[random.nextInt(next.length)]
                : random.nextInt(to.length);
          }
          int[] trace = new int[path.length];
          run.invoke(null, path[0], path, trace);
          assertArrayEquals(path, trace, "graph " + g + " " + Arrays.deepToString(to));
        }
      }
    }
  }

  @Test
  void loopsThatNestGoBackByContinuingThemselvesAndOthersByTheSwitch() {
    // 0 -> 1 <-> 2 -> 3, 3 -> 1 (an outer loop around 1..3), 2 -> 2 (a loop of one block)
    RegionControlFlow nested = new RegionControlFlow(4, new int[][] {{1}, {2}, {1, 2, 3}, {1}});
    assertTrue(nested.jump(2, 1).contains("continue L1;"));
    assertTrue(nested.jump(2, 2).contains("continue L2;"));
    assertTrue(nested.jump(3, 1).contains("continue L1;"));
    assertTrue(nested.jump(0, 1).contains("break B1;"));
    // 0 -> 1 -> 2 -> 0 and 1 -> 3 -> 1: the loop at 1 ends past the loop at 0 around it, so it is no loop
    RegionControlFlow overlapping = new RegionControlFlow(4, new int[][] {{1}, {2, 3}, {0}, {1}});
    assertTrue(overlapping.headsLoop(0));
    assertFalse(overlapping.headsLoop(1));
    assertTrue(overlapping.jump(3, 1).contains("continue D;"));
    assertTrue(overlapping.jump(2, 0).contains("continue L0;"));
  }

  /** A class whose {@code run} follows {@code path} through blocks with {@code successors}, recording each in trace. */
  private static String source(String name, int[][] successors) {
    RegionControlFlow flow = new RegionControlFlow(successors.length, successors);
    String body = flow.body(k -> {
      StringBuilder code = new StringBuilder("    trace[(int) n] = " + k + ";\n    if (++n == path.length) {\n"
          + "      return n;\n    }\n    switch (path[(int) n]) {\n");
      for (int to : successors[k]) {
        code.append("      case ").append(to).append(": {\n").append(flow.jump(k, to).replaceAll("(?m)^", "    "))
            .append("      }\n");
      }
      return code.append("      default:\n        id = path[(int) n];\n        continue D;\n    }\n").toString();
    });
    return "public class " + name + " {\n  public static long run(int id, int[] path, int[] trace) {\n"
        + "    long n = 0;\n    long limit = Long.MAX_VALUE;\n" + body + "  }\n}\n";
  }
}
