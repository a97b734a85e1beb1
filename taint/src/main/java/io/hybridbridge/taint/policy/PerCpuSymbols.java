package io.hybridbridge.taint.policy;

import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.kernel.ProfileException;
import io.hybridbridge.emulator.kernel.Symbol;
import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * The extent of each static per-CPU variable: from its offset to the next per-CPU symbol's. {@link Profile} answers
 * per-CPU symbols by name only, so the order comes from the same kallsyms file, reading just the names of the
 * per-CPU lines; every offset is taken from the profile itself.
 */
final class PerCpuSymbols {
  private final NavigableMap<Long, String> byOffset;

  private PerCpuSymbols(NavigableMap<Long, String> byOffset) {
    this.byOffset = byOffset;
  }

  static PerCpuSymbols read(Path kallsyms, Profile profile) throws ProfileException {
    NavigableMap<Long, String> byOffset = new TreeMap<>();
    try (BufferedReader in = Files.newBufferedReader(kallsyms, StandardCharsets.ISO_8859_1)) {
      String line;
      while ((line = in.readLine()) != null) {
        int space = line.lastIndexOf(' ');
        if (line.length() < 20 || line.indexOf('\t') >= 0 || space < 0) {
          continue;
        }
        for (Symbol s : profile.symbols(line.substring(space + 1))) {
          if (s.perCpu()) {
            byOffset.putIfAbsent(s.address(), s.name());
          }
        }
      }
    } catch (IOException e) {
      throw new ProfileException(kallsyms + ": " + e.getMessage());
    }
    return new PerCpuSymbols(byOffset);
  }

  /** The per-CPU variable at or below {@code offset}, as "name+0x10". */
  String nameAt(long offset) {
    Map.Entry<Long, String> e = byOffset.floorEntry(offset);
    if (e == null) {
      return String.format("%#x", offset);
    }
    return offset == e.getKey() ? e.getValue() : String.format("%s+%#x", e.getValue(), offset - e.getKey());
  }

  /** {@code [offset, end)} of the per-CPU variable {@code name}, or null when the build has none. */
  long[] extent(Profile profile, String name) {
    for (Symbol s : profile.symbols(name)) {
      if (s.perCpu()) {
        Map.Entry<Long, String> next = byOffset.higherEntry(s.address());
        long end = next != null ? next.getKey() : profile.perCpu().end();
        return new long[] {s.address(), end};
      }
    }
    return null;
  }
}
