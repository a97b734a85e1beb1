package io.hybridbridge.emulator.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DecodeCacheTest {
  /** A mix of forms: memory operands with segments, immediates, branches, prefixes, zero idioms, system. */
  private static final List<String> CODE = List.of(
      "65 48 8b 44 8b 10", "f0 48 0f b1 0f", "f3 48 a5", "48 83 c0 ff", "88 fc", "0f 85 10 00 00 00",
      "48 8b 05 00 01 00 00", "0f 22 d8", "48 0f 07", "31 c0", "f3 0f c7 f8", "0f 28 c1", "c2 10 00",
      "48 69 c3 0a 00 00 00", "0f a5 d8", "e8 00 00 00 00");

  private static DecodeCache decodeAll(long base) throws DecodeException {
    DecodeCache cache = new DecodeCache("build-1234");
    try (X86Decoder d = X86Decoder.open()) {
      long pc = base;
      for (String hex : CODE) {
        byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
        cache.put(pc, d.decode(pc, b, 0, b.length));
        pc += 0x1001; // spread over pages
      }
    }
    return cache;
  }

  @Test
  void roundTripUnderAnotherSlide(@TempDir Path dir) throws Exception {
    long slideA = 0xffffffff81000000L;
    long slideB = 0xffffffffa2e00000L;
    DecodeCache saved = decodeAll(slideA);
    Path file = dir.resolve("decode.cache");
    saved.save(file, slideA);
    DecodeCache loaded = DecodeCache.load(file, "build-1234", slideB);
    DecodeCache expected = decodeAll(slideB);
    assertThat(loaded.size()).isEqualTo(CODE.size());
    long pc = slideB;
    for (int i = 0; i < CODE.size(); i++, pc += 0x1001) {
      assertThat(loaded.get(pc)).as(CODE.get(i)).isEqualTo(expected.get(pc)).isNotNull();
    }
    assertThat(Files.list(dir).toList()).containsExactly(file); // no temp file left behind
  }

  @Test
  void rejectsAnotherBuildAVersionOrATruncatedFile(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("decode.cache");
    decodeAll(0).save(file, 0);
    assertThatThrownBy(() -> DecodeCache.load(file, "other-build", 0)).isInstanceOf(IOException.class)
        .hasMessageContaining("build-1234");
    byte[] raw = new java.util.zip.GZIPInputStream(Files.newInputStream(file)).readAllBytes();
    Path truncated = dir.resolve("truncated");
    writeGzip(truncated, java.util.Arrays.copyOf(raw, raw.length / 2));
    assertThatThrownBy(() -> DecodeCache.load(truncated, "build-1234", 0)).isInstanceOf(IOException.class)
        .hasMessageContaining("truncated");
    raw[5] = 99; // version 99
    Path future = dir.resolve("future");
    writeGzip(future, raw);
    assertThatThrownBy(() -> DecodeCache.load(future, "build-1234", 0)).isInstanceOf(IOException.class)
        .hasMessageContaining("version");
    Path garbage = dir.resolve("garbage");
    Files.write(garbage, new byte[] {1, 2, 3});
    assertThatThrownBy(() -> DecodeCache.load(garbage, "build-1234", 0)).isInstanceOf(IOException.class);
  }

  private static void writeGzip(Path file, byte[] data) throws IOException {
    try (var out = new java.util.zip.GZIPOutputStream(Files.newOutputStream(file))) {
      out.write(data);
    }
  }
}
