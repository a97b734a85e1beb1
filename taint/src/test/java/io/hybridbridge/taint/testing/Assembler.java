package io.hybridbridge.taint.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;

/** Assembles an Intel-syntax snippet with GNU as and objcopy (binutils), for tests of the taint policy. */
public final class Assembler {
  private Assembler() {}

  public static byte[] assemble(String source) throws IOException {
    Path dir = Files.createTempDirectory("hb-taint-as");
    try {
      Path s = dir.resolve("snippet.s");
      Path o = dir.resolve("snippet.o");
      Path bin = dir.resolve("snippet.bin");
      Files.writeString(s, ".intel_syntax noprefix\n.text\n" + source + "\n");
      run(dir, "as", "--64", "-o", o.toString(), s.toString());
      run(dir, "objcopy", "-O", "binary", "-j", ".text", o.toString(), bin.toString());
      return Files.readAllBytes(bin);
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static void run(Path dir, String... command) throws IOException {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
    String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException(String.join(" ", command) + " failed (binutils installed?):\n" + output);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
  }
}
