package io.hybridbridge.emulator.machine;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.Tools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Kernel machines opened by several threads at once in a fresh JVM all run: the pipeline's workers open one per
 * thread. Measured with the decoder before its first-use fix: 1 JVM in 6 of this main had all 4 machines stop with
 * the NullPointerException "o is null" in {@code Executor.read} (the pipeline saw about 2 in 9); with it, 0 in 8
 * (see {@code ConcurrentFirstUseTest} for the cause).
 */
@Tag("dataset")
class ConcurrentMachinesTest {
  private static final int JVMS = 3;
  private static final int THREADS = 4;

  @Test
  void machinesOpenedAtOnceInAFreshJvmAllGiveTheSameRows() throws Exception {
    Path dataset = ReferenceStore.defaultDatasetDirectory();
    assertThat(ReferenceGuest.references()).isNotEmpty();
    List<String> outputs = new ArrayList<>();
    for (int round = 0; round < JVMS; round++) {
      Path out = Files.createTempFile("machines", ".txt");
      try {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx2g", "-Dhb.dataset=" + dataset, "-cp", System.getProperty("java.class.path"),
            ConcurrentMachinesTest.class.getName()).redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).as("round %d finished", round).isTrue();
        String output = Files.readString(out).trim();
        assertThat(p.exitValue()).as("round %d: %s", round, output).isZero();
        outputs.add(output);
      } finally {
        Files.deleteIfExists(out);
      }
    }
    assertThat(outputs).allSatisfy(o -> assertThat(o).isEqualTo(outputs.get(0)).isNotEmpty());
  }

  /** One round: THREADS threads open a machine on the first reference at once, then run lsmod and mount. */
  public static void main(String[] args) throws Exception {
    ReferenceStore.Reference reference = ReferenceGuest.references().get(0);
    CyclicBarrier start = new CyclicBarrier(THREADS);
    List<String> results = Collections.synchronizedList(new ArrayList<>());
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      Thread thread = new Thread(() -> {
        try {
          start.await();
          try (KernelMachine m = KernelMachine.open(reference)) {
            RowContext context = new RowContext("concurrent", "vm", reference.kernelBuild());
            results.add(m.runTool(Tools.LSMOD, context) + " " + m.runTool(Tools.MOUNT, context));
          }
        } catch (Exception e) {
          results.add("failed: " + e);
        }
      });
      threads.add(thread);
      thread.start();
    }
    for (Thread t : threads) {
      t.join();
    }
    boolean alike = results.stream().distinct().count() == 1 && !results.get(0).startsWith("failed");
    System.out.println(alike ? "%d machines: mount and lsmod rows alike, %d characters".formatted(results.size(),
        results.get(0).length()) : String.join("\n", results));
    System.exit(alike ? 0 : 1);
  }
}
