package io.hybridbridge.emulator.kernel;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What we know of one kernel build, from the reference boot's own {@code /proc/kallsyms}: every core-kernel
 * symbol made KASLR-free (runtime minus the boot's slide; per-CPU symbols, which kallsyms prints as small
 * offsets into the per-CPU area, kept apart), lookups both ways, and the section boundaries the taint policy
 * needs. Module symbols (lines ending in {@code [module]}) belong to one boot's module loads and are left out.
 */
public final class Profile {
  /** Far bigger than any kallsyms (≈ 90–200 k lines, ≈ 10 MB); refused beyond, before memory grows with input. */
  static final long MAX_BYTES = 64L << 20;
  static final int MAX_LINE = 4096;
  static final int MAX_SYMBOLS = 1_000_000;

  private final long slide;
  private final List<Symbol> image;      // sorted by address
  private final long[] imageAddresses;   // parallel to image
  private final Map<String, List<Symbol>> byName;
  private final Map<String, Section> sections;
  private final int moduleSymbols;

  private Profile(long slide, List<Symbol> image, Map<String, List<Symbol>> byName, int moduleSymbols)
      throws ProfileException {
    this.slide = slide;
    this.image = image;
    this.imageAddresses = image.stream().mapToLong(Symbol::address).toArray();
    this.byName = byName;
    this.moduleSymbols = moduleSymbols;
    Map<String, Section> s = new HashMap<>();
    section(s, "text", "_stext", "_etext");
    section(s, "rodata", "__start_rodata", "__end_rodata");
    section(s, "data", "_sdata", "_edata");
    section(s, "bss", "__bss_start", "__bss_stop");
    section(s, "ro_after_init", "__start_ro_after_init", "__end_ro_after_init");
    section(s, "percpu", "__per_cpu_start", "__per_cpu_end");
    section(s, "ex_table", "__start___ex_table", "__stop___ex_table");
    section(s, "bug_table", "__start___bug_table", "__stop___bug_table");
    section(s, "init", "__init_begin", "__init_end");
    section(s, "image", "_text", "_end");
    this.sections = Map.copyOf(s);
  }

  private void section(Map<String, Section> into, String name, String startSymbol, String endSymbol)
      throws ProfileException {
    OptionalLong start = first(startSymbol);
    OptionalLong end = first(endSymbol);
    if (start.isEmpty() || end.isEmpty() || Long.compareUnsigned(end.getAsLong(), start.getAsLong()) < 0) {
      throw new ProfileException("kallsyms lacks the " + name + " section bounds (" + startSymbol + ", " + endSymbol
          + ")");
    }
    into.put(name, new Section(name, start.getAsLong(), end.getAsLong()));
  }

  private OptionalLong first(String name) {
    List<Symbol> s = byName.get(name);
    return s == null ? OptionalLong.empty() : OptionalLong.of(s.get(0).address());
  }

  /** Parses a kallsyms file (as captured from the reference boot). */
  public static Profile fromKallsyms(Path path) throws ProfileException {
    try (InputStream in = Files.newInputStream(path)) {
      if (Files.size(path) > MAX_BYTES) {
        throw new ProfileException(path + ": " + Files.size(path) + " bytes is not a kallsyms file (at most "
            + MAX_BYTES + ")");
      }
      return parse(in, path.toString());
    } catch (IOException e) {
      throw new ProfileException(path + ": cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * Parses kallsyms text: {@code <hex address> <type> <name>[\t[module]]} per line. Any other line is an error
   * naming it.
   */
  public static Profile parse(InputStream in, String where) throws ProfileException, IOException {
    BufferedReader reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.ISO_8859_1));
    List<Symbol> raw = new ArrayList<>();
    int modules = 0;
    long bytes = 0;
    int lineNumber = 0;
    char[] buf = new char[MAX_LINE + 1];
    String line;
    while ((line = readLine(reader, buf, where, lineNumber + 1)) != null) {
      lineNumber++;
      bytes += line.length() + 1;
      if (bytes > MAX_BYTES || raw.size() >= MAX_SYMBOLS) {
        throw new ProfileException(where + ": too large for a kallsyms file (line " + lineNumber + ")");
      }
      if (line.isEmpty()) {
        continue;
      }
      // "<16 hex digits> <type letter> <name>" and, for module symbols, "\t[module]"
      int tab = line.indexOf('\t');
      String name = tab < 0 ? line.substring(Math.min(19, line.length())) : line.substring(19, Math.max(19, tab));
      boolean module = tab >= 0 && line.startsWith("[", tab + 1) && line.endsWith("]");
      if (line.length() < 20 || line.charAt(16) != ' ' || line.charAt(18) != ' ' || !isHex(line, 16)
          || name.isEmpty() || name.indexOf(' ') >= 0 || (tab >= 0 && !module)) {
        throw new ProfileException(String.format("%s line %d is not a kallsyms line: \"%s\"", where, lineNumber,
            line.length() > 120 ? line.substring(0, 120) + "…" : line));
      }
      if (module) {
        modules++;
        continue;
      }
      long address = Long.parseUnsignedLong(line, 0, 16, 16);
      raw.add(new Symbol(name, line.charAt(17), address, address >= 0)); // kernel addresses have the top bit set
    }
    return build(raw, modules, where);
  }

  private static boolean isHex(String s, int length) {
    for (int i = 0; i < length; i++) {
      if (Character.digit(s.charAt(i), 16) < 0) {
        return false;
      }
    }
    return true;
  }

  private static String readLine(BufferedReader reader, char[] buf, String where, int lineNumber)
      throws IOException, ProfileException {
    int n = 0;
    int c;
    while ((c = reader.read()) >= 0 && c != '\n') {
      if (n == MAX_LINE) {
        throw new ProfileException(where + " line " + lineNumber + " is longer than " + MAX_LINE + " characters");
      }
      buf[n++] = (char) c;
    }
    if (c < 0 && n == 0) {
      return null;
    }
    return new String(buf, 0, n);
  }

  private static Profile build(List<Symbol> raw, int modules, String where) throws ProfileException {
    long runtimeText = raw.stream().filter(s -> s.name().equals("_text") && !s.perCpu()).mapToLong(Symbol::address)
        .findFirst().orElseThrow(() -> new ProfileException(where + ": no _text symbol (is kptr_restrict 0?)"));
    if (runtimeText == 0 || Long.compareUnsigned(runtimeText, KernelLayout.KERNEL_MAP_START) < 0) {
      throw new ProfileException(where + ": _text is at " + Long.toHexString(runtimeText)
          + ": addresses are hidden (kptr_restrict) or not a kernel's");
    }
    long slide = runtimeText - KernelLayout.DEFAULT_TEXT;
    List<Symbol> image = new ArrayList<>();
    Map<String, List<Symbol>> byName = new HashMap<>();
    for (Symbol s : raw) {
      Symbol k = s.perCpu() ? s : new Symbol(s.name(), s.type(), s.address() - slide, false);
      if (!k.perCpu()) {
        image.add(k);
      }
      byName.computeIfAbsent(k.name(), x -> new ArrayList<>(1)).add(k);
    }
    image.sort(Comparator.comparingLong(Symbol::address).thenComparing(s -> !s.isText()));
    byName.replaceAll((name, list) -> List.copyOf(list));
    return new Profile(slide, List.copyOf(image), byName, modules);
  }

  /** The slide of the reference boot the kallsyms came from (runtime minus KASLR-free). */
  public long referenceSlide() {
    return slide;
  }

  /** KASLR-free address (or per-CPU offset) of the first symbol called {@code name}. */
  public OptionalLong address(String name) {
    return first(name);
  }

  /** All symbols called {@code name} (static functions repeat names). */
  public List<Symbol> symbols(String name) {
    return byName.getOrDefault(name, List.of());
  }

  /** The symbol at or below a KASLR-free image address, with the offset into it ({@code name+0x1f}). */
  public Optional<SymbolOffset> symbolAt(long address) {
    int i = Arrays.binarySearch(imageAddresses, address);
    if (i < 0) {
      i = -i - 2;
    } else {
      while (i > 0 && imageAddresses[i - 1] == address) {
        i--; // the first of several at one address: text types sort first
      }
    }
    if (i < 0 || !sections.get("image").contains(address)) {
      return Optional.empty();
    }
    Symbol s = image.get(i);
    return Optional.of(new SymbolOffset(s, address - s.address()));
  }

  /** A symbol and an offset into it. */
  public record SymbolOffset(Symbol symbol, long offset) {
    @Override
    public String toString() {
      return offset == 0 ? symbol.name() : String.format("%s+%#x", symbol.name(), offset);
    }
  }

  /**
   * A section by name: text, rodata, data, bss, ro_after_init, percpu (offsets), ex_table, bug_table, init,
   * image (_text.._end).
   */
  public Section section(String name) {
    Section s = sections.get(name);
    if (s == null) {
      throw new IllegalArgumentException("no section " + name + "; known: " + sections.keySet());
    }
    return s;
  }

  public Section text() { return section("text"); }
  public Section rodata() { return section("rodata"); }
  public Section data() { return section("data"); }
  public Section bss() { return section("bss"); }
  public Section roAfterInit() { return section("ro_after_init"); }
  public Section perCpu() { return section("percpu"); }
  public Section exceptionTable() { return section("ex_table"); }
  public Section bugTable() { return section("bug_table"); }
  public Section init() { return section("init"); }

  /** Core-kernel image symbols, sorted by address. */
  public List<Symbol> imageSymbols() {
    return Collections.unmodifiableList(image);
  }

  public int moduleSymbolsSkipped() {
    return moduleSymbols;
  }

  /** Runtime address of a KASLR-free image address in a boot with {@code layout}. */
  public static long runtime(long kaslrFree, KernelLayout layout) {
    return kaslrFree + layout.slide();
  }

  /** KASLR-free address of a runtime image address of a boot with {@code layout}. */
  public static long kaslrFree(long runtime, KernelLayout layout) {
    return runtime - layout.slide();
  }
}
