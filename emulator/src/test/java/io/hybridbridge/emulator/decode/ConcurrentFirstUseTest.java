package io.hybridbridge.emulator.decode;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The first decoders of a JVM, opened and used by several threads at once, decode correctly. Capstone 4 sorts a
 * static table (its {@code X86_insn_reg_intel} map of instructions whose accumulator operand is implied by the
 * opcode) on the first decode of the process, without a lock: threads sorting it at once left it unsorted for the
 * rest of the process, and {@code add eax, imm32} came out with one operand (the NPE "o is null" in
 * {@code Executor.read} of machines opened concurrently). Each round is a fresh JVM, since the race is in the first
 * use only. Measured before the fix: 1 JVM in 30 of this main lost the operand (8 threads, 2 cores); none in 40 after.
 */
class ConcurrentFirstUseTest {
  private static final int JVMS = 20;
  private static final int THREADS = 8;
  /** Instructions whose register operand Capstone 4 takes from that table, with their operand counts. */
  private static final String[][] ACCUMULATOR_FORMS = {
    {"05 01 00 00 00", "2"}, // add eax, 1
    {"48 2d 10 00 00 00", "2"}, // sub rax, 0x10
    {"a8 01", "2"}, // test al, 1
    {"3c 7f", "2"}, // cmp al, 0x7f
    {"48 a9 00 01 00 00", "2"}, // test rax, 0x100
    {"66 25 ff 0f", "2"}, // and ax, 0xfff
    {"48 0d 00 00 00 80", "2"}, // or rax, -0x80000000
    {"34 20", "2"}, // xor al, 0x20
  };

  @Test
  void decodersOpenedAtOnceInAFreshJvmDecodeAlike() throws Exception {
    List<String> failures = new ArrayList<>();
    for (int round = 0; round < JVMS; round++) {
      Path out = Files.createTempFile("first-use", ".txt");
      try {
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
            System.getProperty("java.class.path"), ConcurrentFirstUseTest.class.getName())
            .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("round %d finished", round).isTrue();
        if (p.exitValue() != 0) {
          failures.add("round " + round + ": " + Files.readString(out).trim());
        }
      } finally {
        Files.deleteIfExists(out);
      }
    }
    assertThat(failures).isEmpty();
  }

  /** One round: THREADS threads open a decoder at a barrier and decode the accumulator forms many times. */
  public static void main(String[] args) throws Exception {
    CyclicBarrier start = new CyclicBarrier(THREADS);
    List<String> errors = java.util.Collections.synchronizedList(new ArrayList<>());
    List<Thread> threads = new ArrayList<>();
    for (int t = 0; t < THREADS; t++) {
      Thread thread = new Thread(() -> {
        try {
          try (X86Decoder d = X86Decoder.open()) {
            start.await(); // every decoder open: their first decodes start together
            for (int n = 0; n < 200; n++) {
              for (String[] form : ACCUMULATOR_FORMS) {
                byte[] b = HexFormat.of().parseHex(form[0].replace(" ", ""));
                Instruction i = d.decode(0x1000, b, 0, b.length);
                if (i.operandCount != Integer.parseInt(form[1])) {
                  errors.add(i.text + " decoded with " + i.operandCount + " operands");
                  return;
                }
              }
            }
          }
        } catch (Exception e) {
          errors.add(e.toString());
        }
      });
      threads.add(thread);
      thread.start();
    }
    for (Thread t : threads) {
      t.join();
    }
    if (!errors.isEmpty()) {
      System.out.println(errors.subList(0, Math.min(3, errors.size())));
      System.exit(1);
    }
  }
}
