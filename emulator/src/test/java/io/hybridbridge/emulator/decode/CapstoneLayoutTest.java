package io.hybridbridge.emulator.decode;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InputStream;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The fixed offsets of the Capstone binding equal those of the installed headers: a C program compiled at
 * test time (gcc, libcapstone-dev) prints offsetof() of every field CapstoneNative reads.
 */
class CapstoneLayoutTest {
  @Test
  void offsetsMatchTheInstalledHeaders() throws Exception {
    Path dir = Files.createTempDirectory("hb-capstone-layout");
    Path c = dir.resolve("layout.c");
    Path exe = dir.resolve("layout");
    try (InputStream in = getClass().getResourceAsStream("capstone-layout.c")) {
      Files.write(c, in.readAllBytes());
    }
    run("gcc", "-o", exe.toString(), c.toString());
    Map<String, Long> expected = new TreeMap<>();
    for (String line : run(exe.toString()).split("\n")) {
      String[] kv = line.split("=");
      expected.put(kv[0], Long.parseLong(kv[1].trim()));
    }
    assertThat(expected).hasSize(32);
    Map<String, Long> actual = new TreeMap<>();
    for (String name : expected.keySet()) {
      Field f = CapstoneNative.class.getDeclaredField(name);
      f.setAccessible(true);
      actual.put(name, ((Number) f.get(null)).longValue());
    }
    assertThat(actual).isEqualTo(expected);
    Files.delete(exe);
    Files.delete(c);
    Files.delete(dir);
  }

  private static String run(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(String.join(" ", command) + " (needs gcc and libcapstone-dev):\n" + out)
        .isZero();
    return out;
  }
}
