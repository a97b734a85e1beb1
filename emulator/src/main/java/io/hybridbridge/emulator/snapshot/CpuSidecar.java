package io.hybridbridge.emulator.snapshot;

import static io.hybridbridge.emulator.snapshot.SnapshotFormatException.Reason.BAD_SIDECAR;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * CPU state for a raw image, kept beside it as {@code <image>.cpu.json}:
 *
 * <pre>{"cpus": [{"rip": "0xffffffff81000000", "cr3": "0x1a10000", "cs": 16, "gs_base": "0x…", …}]}</pre>
 *
 * Keys: rax … r15, rip, rflags; selectors cs ds es fs gs ss; fs_base, gs_base, kernel_gs_base; cr0 cr2 cr3 cr4.
 * Values are JSON integers or strings ("0x…" hexadecimal or decimal), so full 64-bit values survive. Missing keys
 * are zero; unknown keys are an error (a typo must not silently zero a register).
 */
public final class CpuSidecar {
  public static final String SUFFIX = ".cpu.json";
  private static final long MAX_BYTES = 1 << 20;
  private static final Set<String> KEYS = Set.of("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rsp", "rbp", "r8", "r9",
      "r10", "r11", "r12", "r13", "r14", "r15", "rip", "rflags", "cs", "ds", "es", "fs", "gs", "ss", "fs_base",
      "gs_base", "kernel_gs_base", "cr0", "cr2", "cr3", "cr4");

  private CpuSidecar() {}

  /** The sidecar path conventionally paired with a raw image. */
  public static Path besides(Path image) {
    return image.resolveSibling(image.getFileName() + SUFFIX);
  }

  public static List<CpuState> read(Path path) throws SnapshotFormatException {
    try {
      if (Files.size(path) > MAX_BYTES) {
        throw new SnapshotFormatException(BAD_SIDECAR, path + ": CPU sidecar larger than " + MAX_BYTES + " bytes");
      }
      return parse(Files.readString(path), path.toString());
    } catch (IOException e) {
      throw new SnapshotFormatException(BAD_SIDECAR, path + ": cannot read the CPU sidecar: " + e.getMessage(), e);
    }
  }

  static List<CpuState> parse(String json, String where) throws SnapshotFormatException {
    JsonNode root;
    try {
      root = new ObjectMapper().readTree(json);
    } catch (IOException e) {
      throw new SnapshotFormatException(BAD_SIDECAR, where + ": CPU sidecar is not JSON: " + e.getMessage(), e);
    }
    JsonNode cpus = root == null ? null : root.get("cpus");
    if (cpus == null || !cpus.isArray() || cpus.size() > ElfNotes.MAX_CPUS) {
      throw new SnapshotFormatException(BAD_SIDECAR, where + ": CPU sidecar needs a \"cpus\" array of at most "
          + ElfNotes.MAX_CPUS + " objects");
    }
    List<CpuState> states = new ArrayList<>();
    for (int i = 0; i < cpus.size(); i++) {
      states.add(cpu(i, cpus.get(i), where));
    }
    return List.copyOf(states);
  }

  private static CpuState cpu(int index, JsonNode node, String where) throws SnapshotFormatException {
    if (!node.isObject()) {
      throw new SnapshotFormatException(BAD_SIDECAR, where + ": cpus[" + index + "] is not an object");
    }
    for (Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
      String key = names.next();
      if (!KEYS.contains(key)) {
        throw new SnapshotFormatException(BAD_SIDECAR, where + ": cpus[" + index + "] has unknown key \"" + key + "\"");
      }
    }
    Values v = new Values(node, index, where);
    return new CpuState(index, CpuState.Origin.SIDECAR,
        v.get("rax"), v.get("rbx"), v.get("rcx"), v.get("rdx"), v.get("rsi"), v.get("rdi"), v.get("rsp"), v.get("rbp"),
        v.get("r8"), v.get("r9"), v.get("r10"), v.get("r11"), v.get("r12"), v.get("r13"), v.get("r14"), v.get("r15"),
        v.get("rip"), v.get("rflags"),
        v.segment("cs", 0), v.segment("ds", 0), v.segment("es", 0), v.segment("fs", v.get("fs_base")),
        v.segment("gs", v.get("gs_base")), v.segment("ss", 0), SegmentRegister.NONE, SegmentRegister.NONE,
        SegmentRegister.NONE, SegmentRegister.NONE,
        v.get("cr0"), v.get("cr2"), v.get("cr3"), v.get("cr4"), v.get("kernel_gs_base"));
  }

  private record Values(JsonNode node, int index, String where) {
    long get(String key) throws SnapshotFormatException {
      JsonNode value = node.get(key);
      if (value == null) {
        return 0;
      }
      try {
        if (value.isIntegralNumber()) {
          return value.bigIntegerValue().longValue();
        }
        String text = value.asText().trim();
        return text.startsWith("0x") || text.startsWith("0X")
            ? Long.parseUnsignedLong(text.substring(2), 16) : Long.parseUnsignedLong(text);
      } catch (NumberFormatException e) {
        throw new SnapshotFormatException(BAD_SIDECAR,
            where + ": cpus[" + index + "]." + key + " is not a 64-bit integer: " + value);
      }
    }

    SegmentRegister segment(String key, long base) throws SnapshotFormatException {
      return new SegmentRegister((int) get(key), 0, 0, base);
    }
  }
}
