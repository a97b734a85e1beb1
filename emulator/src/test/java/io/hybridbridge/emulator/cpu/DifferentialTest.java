package io.hybridbridge.emulator.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.cpu.unicorn.Unicorn;
import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.decode.Reg;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Lock-step differential test of instruction semantics against Unicorn 2 (QEMU's x86 translator): every form
 * of forms.txt runs from the same random register, flag and memory state (seeded) on both CPUs, and all
 * GPRs, RIP, the defined flags and the data, stack and code-data memory must agree; a fault on one side must
 * be a fault on the other.
 */
class DifferentialTest {
  static final long CODE = 0x10000;
  static final long DATA = 0x200000;
  static final int DATA_SIZE = 0x4000;
  static final long STACK = 0x300000;
  static final int STACK_SIZE = 0x2000;
  static final long FS_BASE = DATA + 0x3800;
  static final long GS_BASE = DATA + 0x3000;
  static final long KERNEL_GS_BASE = DATA + 0x2000;
  static final int ITERATIONS = 64;
  static final long COMPARED_FLAGS = CpuState.ARITHMETIC_FLAGS | CpuState.DF | CpuState.IF | CpuState.AC;
  static final String[] GPR_NAMES = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9",
    "r10", "r11", "r12", "r13", "r14", "r15"};

  record Form(String source, Map<String, String> options) {}

  @Test
  void everyFormAgreesWithUnicorn() throws Exception {
    List<Form> forms = loadForms();
    List<byte[]> code = GnuAssembler.assembleAll(forms.stream().map(Form::source).toList());
    List<String> failures = new ArrayList<>();
    int runs = 0;
    int faults = 0;
    int translated = 0;
    for (int f = 0; f < forms.size(); f++) {
      Form form = forms.get(f);
      Random random = new Random(0x5eed ^ form.source().hashCode());
      DecodeCache cache = new DecodeCache("differential");
      try (Unicorn uc = new Unicorn(); Cpu translator = translator(code.get(f), cache)) {
        translated += translator.translatedBlocks();
        uc.map(CODE, 0x2000);
        uc.map(DATA, DATA_SIZE);
        uc.map(STACK, STACK_SIZE);
        for (int it = 0; it < ITERATIONS; it++) {
          String failure = runOnce(form, code.get(f), random, uc, cache, translator);
          runs++;
          if (failure != null && failure.startsWith("fault:")) {
            faults++;
          } else if (failure != null) {
            failures.add(form.source() + " (iteration " + it + "): " + failure);
            break;
          }
        }
      }
    }
    String summary = ("%d instruction forms (%d in a translated block), %d runs, each interpreted and translated (%d "
        + "ending in the same fault on both), %d disagreeing forms").formatted(forms.size(), translated, runs, faults,
        failures.size());
    System.out.println("DifferentialTest: " + summary);
    Files.createDirectories(Path.of("target"));
    Files.writeString(Path.of("target", "differential-forms.txt"),
        summary + "\n" + String.join("\n", forms.stream().map(Form::source).toList()) + "\n");
    assertThat(failures).as(summary).isEmpty();
    assertThat(forms.size()).isGreaterThan(300);
    assertThat(translated).as("forms that start a translated block").isGreaterThan(forms.size() * 3 / 4);
  }

  /**
   * A CPU that has translated the block at the start of {@code code} (BlockTranslator): each run of the form runs it
   * once interpreted and once translated, both compared with Unicorn.
   */
  private static Cpu translator(byte[] code, DecodeCache cache) throws Exception {
    SparseImage image = new SparseImage().put(CODE, code).map(CODE, 0x2000);
    Cpu cpu = new Cpu(new CpuState(), new PagedMemory(new FrameCache(image), image.identity()), cache);
    cpu.addHook(CODE + code.length, c -> PcHook.Result.stop("end"));
    cpu.translate(List.of(CODE));
    return cpu;
  }

  /** Runs one random state on both CPUs; null when they agree, "fault:..." when both faulted. */
  private static String runOnce(Form form, byte[] code, Random random, Unicorn uc, DecodeCache cache,
      Cpu translator) throws Exception {
    long end = CODE + code.length;
    long[] regs = new long[16];
    for (int i = 0; i < 16; i++) {
      regs[i] = randomValue(random);
    }
    byte[] data = new byte[DATA_SIZE];
    random.nextBytes(data);
    byte[] stack = new byte[STACK_SIZE];
    random.nextBytes(stack);
    byte[] codePages = new byte[0x2000];
    random.nextBytes(codePages);
    System.arraycopy(code, 0, codePages, 0, code.length);
    constrainRegisters(form, regs, random, end, data, stack);
    long flags = (random.nextLong() & (CpuState.ARITHMETIC_FLAGS | CpuState.DF | CpuState.IF | CpuState.AC)) | 2;

    // Unicorn
    uc.write(CODE, codePages);
    uc.write(DATA, data);
    uc.write(STACK, stack);
    for (int i = 0; i < 16; i++) {
      uc.setReg(Unicorn.GPR[i], regs[i]);
    }
    uc.setReg(Unicorn.REG_EFLAGS, flags);
    uc.setReg(Unicorn.REG_FS_BASE, FS_BASE);
    uc.setReg(Unicorn.REG_GS_BASE, GS_BASE);
    uc.setMsr(Msr.KERNEL_GS_BASE, KERNEL_GS_BASE);
    int err = uc.run(CODE, end, 100_000);

    for (boolean translated : new boolean[] {false, true}) {
      String failure = ours(form, code, regs, flags, codePages, data, stack, err, uc, cache,
          translated ? translator : null);
      if (failure != null) {
        return translated && !failure.startsWith("fault:") ? "translated: " + failure : failure;
      }
    }
    return null;
  }

  /** Runs our CPU (interpreting, or running {@code translator}'s blocks) and compares it with Unicorn's run. */
  private static String ours(Form form, byte[] code, long[] regs, long flags, byte[] codePages, byte[] data,
      byte[] stack, int err, Unicorn uc, DecodeCache cache, Cpu translator) throws Exception {
    long end = CODE + code.length;
    SparseImage image = new SparseImage().put(CODE, codePages).put(DATA, data).put(STACK, stack);
    PagedMemory memory = new PagedMemory(new FrameCache(image), image.identity());
    CpuState state = new CpuState();
    for (int i = 0; i < 16; i++) {
      state.set(i, regs[i]);
    }
    state.setRip(CODE);
    state.setRflags(flags);
    state.setFsBase(FS_BASE);
    state.setGsBase(GS_BASE);
    state.setKernelGsBase(KERNEL_GS_BASE);
    Stop stop;
    try (Cpu cpu = new Cpu(state, memory, cache)) {
      cpu.addHook(end, c -> PcHook.Result.stop("end"));
      if (translator != null) {
        cpu.adoptBlocks(translator);
        cpu.setTranslation(true);
      }
      stop = cpu.run(100_000);
    }

    // Unicorn ends the run early, without an error, on an exception nobody hooks (#DE, #BP, #UD).
    boolean ucFaulted = err != 0 || uc.reg(Unicorn.REG_RIP) != end;
    boolean weFaulted = stop.reason() == Stop.Reason.FAULT;
    if (ucFaulted || weFaulted) {
      if (ucFaulted && weFaulted) {
        return "fault:" + stop.detail();
      }
      return ucFaulted ? "Unicorn faulted (" + Unicorn.error(err) + "), we stopped with " + stop
          : "we stopped with " + stop + ", Unicorn ran to the end";
    }
    if (stop.reason() != Stop.Reason.HOOK || stop.pc() != end) {
      return "we stopped with " + stop;
    }
    StringBuilder diff = new StringBuilder();
    for (int i = 0; i < 16; i++) {
      long expected = uc.reg(Unicorn.GPR[i]);
      long actual = state.get(i);
      if (form.options().getOrDefault("lowonly", "").contains(GPR_NAMES[i])) {
        expected &= 0xffffffffL;
        actual &= 0xffffffffL;
      }
      if (expected != actual) {
        diff.append(" %s: unicorn 0x%x, ours 0x%x;".formatted(GPR_NAMES[i], expected, actual));
      }
    }
    long mask = COMPARED_FLAGS & ~undefinedFlags(form);
    long ucFlags = uc.reg(Unicorn.REG_EFLAGS);
    if ((ucFlags & mask) != (state.rflags() & mask)) {
      diff.append(" rflags: unicorn 0x%x, ours 0x%x (compared 0x%x, initial 0x%x);"
          .formatted(ucFlags, state.rflags(), mask, flags));
    }
    compareMemory(diff, "data", DATA, DATA_SIZE, uc, memory);
    compareMemory(diff, "stack", STACK, STACK_SIZE, uc, memory);
    compareMemory(diff, "code", CODE, 0x2000, uc, memory);
    if (uc.reg(Unicorn.REG_GS_BASE) != state.gsBase()) {
      diff.append(" gs base: unicorn 0x%x, ours 0x%x;".formatted(uc.reg(Unicorn.REG_GS_BASE), state.gsBase()));
    }
    return diff.length() == 0 ? null : "regs in " + hex(regs) + " flags 0x" + Long.toHexString(flags) + " ->" + diff;
  }

  private static void compareMemory(StringBuilder diff, String what, long base, int size, Unicorn uc,
      PagedMemory memory) throws Exception {
    byte[] expected = uc.read(base, size);
    byte[] actual = new byte[size];
    memory.read(base, actual, 0, size);
    for (int i = 0; i < size; i++) {
      if (expected[i] != actual[i]) {
        diff.append(" %s memory differs at 0x%x: unicorn %02x, ours %02x;".formatted(what, base + i,
            expected[i] & 0xff, actual[i] & 0xff));
        return;
      }
    }
  }

  private static final long[] SPECIAL = {0, 1, 2, -1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffffL,
    0x80000000L, 0xffffffffL, Long.MAX_VALUE, Long.MIN_VALUE, 0x100000000L, 63, 64, 31, 32};

  private static long randomValue(Random random) {
    switch (random.nextInt(5)) {
      case 0: return SPECIAL[random.nextInt(SPECIAL.length)];
      case 1: return random.nextInt(64);
      case 2: return random.nextInt() & 0xffffffffL;
      default: return random.nextLong();
    }
  }

  private static final Pattern BRACKET = Pattern.compile("(?:(fs|gs|cs):)?\\[([^\\]]*)\\]");
  private static final Pattern REGISTER = Pattern.compile("\\b(r[a-z0-9]+|e[a-z]{2})\\b");

  private static void constrainRegisters(Form form, long[] regs, Random random, long end, byte[] data,
      byte[] stack) {
    Map<Integer, String> role = new LinkedHashMap<>();
    Matcher bracket = BRACKET.matcher(form.source());
    while (bracket.find()) {
      boolean segmented = bracket.group(1) != null && !bracket.group(1).equals("cs");
      Matcher reg = REGISTER.matcher(bracket.group(2));
      boolean first = true;
      while (reg.find()) {
        int r = gpr(reg.group(1));
        if (r >= 0 && r != Reg.RSP) {
          role.putIfAbsent(r, first && !segmented ? "ptr" : "small");
        }
        first = false;
      }
    }
    for (String key : new String[] {"ptr", "small", "align16"}) {
      for (String name : form.options().getOrDefault(key, "").split(",")) {
        if (!name.isEmpty()) {
          role.put(gpr(name), key);
        }
      }
    }
    for (Map.Entry<Integer, String> e : role.entrySet()) {
      long mid = DATA + DATA_SIZE / 2;
      switch (e.getValue()) {
        case "ptr" -> regs[e.getKey()] = mid + random.nextInt(512) - 256;
        case "align16" -> regs[e.getKey()] = (mid + random.nextInt(512) - 256) & ~15L;
        default -> regs[e.getKey()] = random.nextInt(41);
      }
    }
    regs[Reg.RSP] = STACK + STACK_SIZE / 2 - 8L * random.nextInt(16);
    if (form.options().containsKey("end")) {
      regs[gpr(form.options().get("end"))] = end;
    }
    for (Map.Entry<String, String> o : form.options().entrySet()) {
      if (o.getKey().startsWith("[") && o.getValue().equals("end")) {
        putLong(data, (int) (regs[gpr(o.getKey().substring(1, o.getKey().length() - 1))] - DATA), end);
      }
    }
    if ("end".equals(form.options().get("stacktop"))) {
      putLong(stack, (int) (regs[Reg.RSP] - STACK), end);
    }
  }

  private static void putLong(byte[] b, int at, long v) {
    for (int i = 0; i < 8; i++) {
      b[at + i] = (byte) (v >>> (8 * i));
    }
  }

  private static int gpr(String name) {
    for (int i = 0; i < 16; i++) {
      for (int size : new int[] {8, 4, 2, 1}) {
        if (name.equals(Reg.name(i)) || name.equals(GPR_NAMES[i])) {
          return i;
        }
      }
    }
    Map<String, Integer> short32 = Map.of("eax", 0, "ecx", 1, "edx", 2, "ebx", 3, "esp", 4, "ebp", 5, "esi",
        6, "edi", 7);
    if (short32.containsKey(name)) {
      return short32.get(name);
    }
    if (name.matches("r(8|9|1[0-5])[dwb]")) {
      return Integer.parseInt(name.substring(1, name.length() - 1));
    }
    return -1;
  }

  private static long undefinedFlags(Form form) {
    long mask = 0;
    for (String f : form.options().getOrDefault("undef", "").split(",")) {
      switch (f) {
        case "CF" -> mask |= CpuState.CF;
        case "PF" -> mask |= CpuState.PF;
        case "AF" -> mask |= CpuState.AF;
        case "ZF" -> mask |= CpuState.ZF;
        case "SF" -> mask |= CpuState.SF;
        case "OF" -> mask |= CpuState.OF;
        default -> { }
      }
    }
    return mask;
  }

  private static String hex(long[] regs) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < regs.length; i++) {
      sb.append(GPR_NAMES[i]).append("=").append(Long.toHexString(regs[i])).append(' ');
    }
    return sb.toString().trim();
  }

  /** Reads forms.txt, expanding {a,b} / {a|b} alternatives. */
  static List<Form> loadForms() throws IOException {
    List<Form> forms = new ArrayList<>();
    try (InputStream in = DifferentialTest.class.getResourceAsStream("forms.txt")) {
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        line = line.strip();
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        int bar = topLevelBar(line);
        String source = bar < 0 ? line : line.substring(0, bar).strip();
        Map<String, String> options = new HashMap<>();
        if (bar >= 0) {
          for (String o : line.substring(bar + 1).strip().split("\\s+")) {
            int eq = o.indexOf('=');
            options.put(o.substring(0, eq), o.substring(eq + 1));
          }
        }
        for (String s : expand(source)) {
          forms.add(new Form(s, options));
        }
      }
    }
    return forms;
  }

  private static int topLevelBar(String line) {
    int depth = 0;
    for (int i = 0; i < line.length(); i++) {
      char c = line.charAt(i);
      if (c == '{') {
        depth++;
      } else if (c == '}') {
        depth--;
      } else if (c == '|' && depth == 0) {
        return i;
      }
    }
    return -1;
  }

  private static List<String> expand(String s) {
    int open = s.indexOf('{');
    if (open < 0) {
      return List.of(s);
    }
    int close = s.indexOf('}', open);
    String inside = s.substring(open + 1, close);
    String[] alternatives = inside.contains("|") ? inside.split("\\|") : inside.split(",");
    List<String> out = new ArrayList<>();
    for (String alternative : alternatives) {
      out.addAll(expand(s.substring(0, open) + alternative.strip() + s.substring(close + 1)));
    }
    return out;
  }
}
