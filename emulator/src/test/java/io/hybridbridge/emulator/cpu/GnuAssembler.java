package io.hybridbridge.emulator.cpu;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Assembles Intel-syntax snippets with GNU as (binutils) and objcopy, all in one run: each snippet is placed
 * between symbols, and its bytes are cut out of the flat .text by the symbol addresses nm reports.
 */
public final class GnuAssembler {
  private GnuAssembler() {}

  public static byte[] assemble(String source) throws IOException {
    return assembleAll(List.of(source)).get(0);
  }

  public static List<byte[]> assembleAll(List<String> snippets) throws IOException {
    Path dir = Files.createTempDirectory("hb-as");
    try {
      StringBuilder src = new StringBuilder(".intel_syntax noprefix\n.text\n");
      for (int i = 0; i < snippets.size(); i++) {
        src.append("snippet_start_").append(i).append(":\n").append(snippets.get(i)).append('\n')
            .append("snippet_end_").append(i).append(":\n");
      }
      Path s = dir.resolve("snippets.s");
      Path o = dir.resolve("snippets.o");
      Path bin = dir.resolve("snippets.bin");
      Files.writeString(s, src);
      run(dir, "as", "--64", "-o", o.toString(), s.toString());
      run(dir, "objcopy", "-O", "binary", "-j", ".text", o.toString(), bin.toString());
      String symbols = run(dir, "nm", o.toString());
      Map<String, Long> addr = new HashMap<>();
      for (String line : symbols.split("\n")) {
        String[] f = line.trim().split("\\s+");
        if (f.length == 3) {
          addr.put(f[2], Long.parseLong(f[0], 16));
        }
      }
      byte[] text = Files.readAllBytes(bin);
      List<byte[]> out = new ArrayList<>();
      for (int i = 0; i < snippets.size(); i++) {
        int start = addr.get("snippet_start_" + i).intValue();
        int end = addr.get("snippet_end_" + i).intValue();
        byte[] b = new byte[end - start];
        System.arraycopy(text, start, b, 0, b.length);
        out.add(b);
      }
      return out;
    } finally {
      try (var files = Files.walk(dir)) {
        files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }

  private static String run(Path dir, String... command) throws IOException {
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
    return output;
  }
}
