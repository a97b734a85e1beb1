package io.hybridbridge.emulator.cpu;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real kernel's code for tests and benchmarks: the vmlinux inside a Debian vmlinuz of the data cache
 * (decompressed with xz or zstd), its loadable segments at their link addresses, and the symbols of the
 * dataset's reference boot (its own /proc/kallsyms, made KASLR-free by the slide of _text).
 */
final class KernelImage {
  record Segment(long address, byte[] bytes) {}

  final String build;
  final List<Segment> segments;
  private final Map<String, Long> symbols;

  private KernelImage(String build, List<Segment> segments, Map<String, Long> symbols) {
    this.build = build;
    this.segments = segments;
    this.symbols = symbols;
  }

  long symbol(String name) {
    Long a = symbols.get(name);
    if (a == null) {
      throw new IllegalArgumentException(build + ": no symbol " + name + " in the reference's kallsyms");
    }
    return a;
  }

  static Path cache() {
    String env = System.getenv("HB_CACHE");
    return env != null ? Path.of(env) : Path.of(System.getProperty("user.home"), ".cache", "hybrid-bridge");
  }

  /** The dataset: system property hb.dataset, env HB_DATASET, or $HB_CACHE/datasets/default. */
  static Path dataset() {
    return io.hybridbridge.emulator.kernel.ReferenceStore.defaultDatasetDirectory();
  }

  /** Builds of the dataset that have a reference with its kallsyms. */
  static List<String> builds(Path dataset) throws IOException {
    if (!Files.isDirectory(dataset)) {
      throw new IOException("no dataset at " + dataset + " (build it with ./run-tests or hb datasets)");
    }
    try (Stream<Path> dirs = Files.list(dataset)) {
      return dirs.filter(d -> Files.isRegularFile(d.resolve("reference").resolve("kallsyms")))
          .map(d -> d.getFileName().toString()).sorted().toList();
    }
  }

  static KernelImage load(Path dataset, String build) throws IOException {
    Path vmlinuz = cache().resolve("packages").resolve("kernels").resolve(build).resolve("boot")
        .resolve("vmlinuz-" + build);
    if (!Files.isRegularFile(vmlinuz)) {
      throw new IOException("no " + vmlinuz + " (the datasets module unpacks kernel packages there)");
    }
    byte[] elf = decompress(Files.readAllBytes(vmlinuz), vmlinuz);
    List<Segment> segments = loadSegments(elf, vmlinuz);
    long linkText = segments.get(0).address();
    Map<String, Long> runtime = new HashMap<>();
    for (String line : Files.readAllLines(dataset.resolve(build).resolve("reference").resolve("kallsyms"))) {
      String[] f = line.split("\\s+");
      if (f.length == 3) { // symbols of modules carry a fourth field
        runtime.putIfAbsent(f[2], Long.parseUnsignedLong(f[0], 16));
      }
    }
    long slide = runtime.get("_text") - linkText;
    Map<String, Long> symbols = new HashMap<>();
    runtime.forEach((name, address) -> symbols.put(name, address - slide));
    return new KernelImage(build, segments, symbols);
  }

  /** The compressed vmlinux of a bzImage: at payload_offset (header 0x248) after the setup sectors. */
  private static byte[] decompress(byte[] vmlinuz, Path file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(vmlinuz).order(ByteOrder.LITTLE_ENDIAN);
    if (vmlinuz.length < 0x250 || b.getInt(0x202) != 0x53726448) { // "HdrS"
      throw new IOException(file + ": not a bzImage");
    }
    int setupSectors = vmlinuz[0x1f1] == 0 ? 4 : vmlinuz[0x1f1] & 0xff;
    int payload = (setupSectors + 1) * 512 + b.getInt(0x248);
    byte[][] magics = {{(byte) 0xfd, '7', 'z', 'X', 'Z', 0}, {0x28, (byte) 0xb5, 0x2f, (byte) 0xfd},
      {0x02, 0x21, 0x4c, 0x18}, {0x1f, (byte) 0x8b}};
    String[][] tools = {{"xz", "-dc"}, {"zstd", "-dcq"}, {"lz4", "-dc"}, {"gzip", "-dc"}};
    for (int m = 0; m < magics.length; m++) {
      if (startsWith(vmlinuz, payload, magics[m])) {
        return run(tools[m], vmlinuz, payload);
      }
    }
    throw new IOException(file + ": payload at 0x" + Integer.toHexString(payload)
        + " is not xz, zstd, lz4 or gzip");
  }

  private static byte[] run(String[] command, byte[] input, int offset) throws IOException {
    Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    Thread feeder = new Thread(() -> {
      try (OutputStream in = p.getOutputStream()) {
        in.write(input, offset, input.length - offset);
      } catch (IOException e) {
        // the decompressor stops reading at the end of its stream; trailing bytes are not its business
      }
    });
    feeder.start();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (InputStream o = p.getInputStream()) {
      o.transferTo(out);
    }
    try {
      p.waitFor(120, TimeUnit.SECONDS);
      feeder.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted", e);
    }
    if (out.size() < 64) {
      throw new IOException(String.join(" ", command) + " produced no kernel");
    }
    return out.toByteArray();
  }

  /** PT_LOAD segments mapped at kernel addresses (the per-CPU template, linked at 0, is left out). */
  private static List<Segment> loadSegments(byte[] elf, Path file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(elf).order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt(0) != 0x464c457f || elf[4] != 2) {
      throw new IOException(file + ": the payload is not a 64-bit ELF vmlinux");
    }
    long phoff = b.getLong(0x20);
    int phentsize = b.getShort(0x36) & 0xffff;
    int phnum = b.getShort(0x38) & 0xffff;
    List<Segment> segments = new ArrayList<>();
    for (int i = 0; i < phnum; i++) {
      int ph = (int) (phoff + (long) i * phentsize);
      if (b.getInt(ph) != 1) {
        continue;
      }
      long offset = b.getLong(ph + 8);
      long vaddr = b.getLong(ph + 16);
      long filesz = b.getLong(ph + 32);
      long memsz = b.getLong(ph + 40);
      if (vaddr >= 0) {
        continue;
      }
      byte[] bytes = new byte[(int) memsz];
      System.arraycopy(elf, (int) offset, bytes, 0, (int) filesz);
      segments.add(new Segment(vaddr, bytes));
    }
    return segments;
  }

  private static boolean startsWith(byte[] bytes, int at, byte[] prefix) {
    if (at < 0 || at + prefix.length > bytes.length) {
      return false;
    }
    for (int j = 0; j < prefix.length; j++) {
      if (bytes[at + j] != prefix[j]) {
        return false;
      }
    }
    return true;
  }
}
