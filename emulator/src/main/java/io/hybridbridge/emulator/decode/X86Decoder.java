package io.hybridbridge.emulator.decode;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Decodes x86-64 machine code with Capstone 4 into our {@link Instruction} form. Capstone is trusted for the
 * decoding (length, operands, prefixes) only: semantics, including side effects Capstone 4 under-reports, are
 * the executor's. One decoder per thread (it owns a Capstone handle and native buffers); close it when done: the
 * library stays bound while a decoder is open ({@link #open}).
 */
public final class X86Decoder implements AutoCloseable {
  /** The longest x86 instruction. */
  public static final int MAX_LENGTH = 15;

  private static final String[] CONDITIONS = {
    "o", "no", "b", "ae", "e", "ne", "be", "a", "s", "ns", "p", "np", "l", "ge", "le", "g"
  };
  private static final Map<String, Mnemonic> PLAIN = new HashMap<>();

  static {
    for (Mnemonic m : Mnemonic.values()) {
      if (!m.conditional() && !m.string() && m != Mnemonic.UNSUPPORTED && m != Mnemonic.UD) {
        PLAIN.put(m.name().toLowerCase(), m);
      }
    }
    PLAIN.put("movabs", Mnemonic.MOV);
    PLAIN.put("sal", Mnemonic.SHL);
    PLAIN.put("iretq", Mnemonic.IRET);
    PLAIN.put("endbr64", Mnemonic.NOP);
    PLAIN.put("endbr32", Mnemonic.NOP);
    PLAIN.put("jecxz", Mnemonic.UNSUPPORTED);
    for (String p : new String[] {"prefetch", "prefetchw", "prefetchwt1", "prefetcht0", "prefetcht1",
        "prefetcht2", "prefetchnta"}) {
      PLAIN.put(p, Mnemonic.PREFETCH);
    }
    PLAIN.put("clflushopt", Mnemonic.CLFLUSH);
    PLAIN.put("clwb", Mnemonic.CLFLUSH);
    PLAIN.put("ud2", Mnemonic.UD);
    PLAIN.put("ud2b", Mnemonic.UD); // Capstone 4's name for ud1 (0f b9)
    PLAIN.put("ud0", Mnemonic.UD);
    PLAIN.put("fxsave64", Mnemonic.FXSAVE);
    PLAIN.put("fxrstor64", Mnemonic.FXRSTOR);
    PLAIN.put("wait", Mnemonic.FWAIT);
    PLAIN.remove("iret");
    PLAIN.remove("jcc");
  }

  private final long handle;
  private final Pointer insn;
  private final Memory code = new Memory(MAX_LENGTH + 1);
  private final long[] codePointer = new long[1];
  private final long[] remaining = new long[1];
  private final long[] address = new long[1];
  private final byte[] header = new byte[CapstoneNative.INSN_STRUCT_SIZE];
  private final byte[] detail =
      new byte[CapstoneNative.X86_OPERANDS + CapstoneNative.X86_MAX_OPERANDS * CapstoneNative.OP_STRUCT_SIZE];
  /** Capstone ids to ours, built once per JVM from cs_insn_name / cs_reg_name (see {@link Tables}). */
  private final Tables tables;
  private boolean closed;

  /** Capstone instruction ids to our mnemonic, condition and string element size; register ids to ours. */
  private static final class Tables {
    final Mnemonic[] mnemonicById;
    final byte[] conditionById;
    final byte[] stringElementById;
    final Reg.Named[] registerById;

    Tables(long handle) {
      List<String> names = names(handle, true);
      mnemonicById = new Mnemonic[names.size()];
      conditionById = new byte[names.size()];
      stringElementById = new byte[names.size()];
      for (int id = 0; id < names.size(); id++) {
        classify(id, names.get(id));
      }
      List<String> registers = names(handle, false);
      registerById = new Reg.Named[registers.size()];
      for (int id = 0; id < registers.size(); id++) {
        registerById[id] = registers.get(id) == null ? null : Reg.parse(registers.get(id));
      }
    }

    private void classify(int id, String name) {
      mnemonicById[id] = Mnemonic.UNSUPPORTED;
      conditionById[id] = -1;
      if (name == null) {
        return;
      }
      Mnemonic plain = PLAIN.get(name);
      if (plain != null) {
        mnemonicById[id] = plain;
        return;
      }
      for (String[] family : new String[][] {{"j", "JCC"}, {"set", "SETCC"}, {"cmov", "CMOVCC"}}) {
        if (name.startsWith(family[0])) {
          String cc = name.substring(family[0].length());
          for (int c = 0; c < CONDITIONS.length; c++) {
            if (CONDITIONS[c].equals(cc)) {
              mnemonicById[id] = Mnemonic.valueOf(family[1]);
              conditionById[id] = (byte) c;
              return;
            }
          }
        }
      }
      for (String s : new String[] {"movs", "stos", "lods", "cmps", "scas"}) {
        if (name.length() == 5 && name.startsWith(s)) {
          int element = "bwdq".indexOf(name.charAt(4));
          if (element >= 0) {
            mnemonicById[id] = Mnemonic.valueOf(s.toUpperCase());
            stringElementById[id] = (byte) (1 << element);
            return;
          }
        }
      }
    }

    /** All instruction (or register) names by Capstone id; null where an id has none. */
    private static List<String> names(long handle, boolean instructions) {
      List<String> names = new ArrayList<>();
      names.add(null); // id 0 is "invalid" for both
      int misses = 0;
      for (int id = 1; misses < 64; id++) {
        Pointer p = instructions ? CapstoneNative.cs_insn_name(handle, id) : CapstoneNative.cs_reg_name(handle, id);
        String s = p == null ? null : p.getString(0, StandardCharsets.US_ASCII.name());
        misses = s == null ? misses + 1 : 0;
        names.add(s);
      }
      return names;
    }
  }

  /**
   * Held to open and close decoders. A string literal is one object in the whole JVM, whatever class loader loaded
   * this class: Capstone's lazy global state (below) is the process's, and each Flink job has its own copy of this
   * class.
   */
  private static final Object LOCK = "io.hybridbridge.emulator.decode.X86Decoder: libcapstone";
  /** Decoders open in this class loader: libcapstone is bound while there is one ({@link CapstoneNative#bind}). */
  private static int openDecoders;
  /** Whether the binding is new and has not decoded yet: the library may have been loaded afresh. */
  private static boolean firstSinceBound;
  /** Built by the first decoder of this class loader, under {@link #LOCK}. */
  private static Tables sharedTables;

  private X86Decoder(long handle) throws DecodeException {
    this.handle = handle;
    this.insn = CapstoneNative.cs_malloc(handle);
    try {
      if (sharedTables == null) {
        sharedTables = new Tables(handle);
      }
      this.tables = sharedTables;
      if (firstSinceBound) {
        firstDecode();
        firstSinceBound = false;
      }
    } catch (DecodeException | RuntimeException e) {
      CapstoneNative.cs_free(insn, 1); // the handle is open's to close
      code.close();
      throw e;
    }
  }

  /**
   * Capstone 4 sorts a static table on the first decode of the process ({@code X86_insn_reg_intel}: instructions
   * whose accumulator operand the opcode implies), with no lock: threads decoding for the first time at once left it
   * unsorted for good, and from then on {@code add eax, imm32} and its kin decoded with their register operand
   * missing, in every decoder of the JVM. So the first decoder after each binding (the library may have been
   * unloaded and loaded again) decodes one such instruction while it holds the lock {@link #open} takes, and checks
   * it.
   */
  private void firstDecode() throws DecodeException {
    byte[] addEax = {0x05, 0x01, 0x00, 0x00, 0x00};
    Instruction add = decode(0, addEax, 0, addEax.length);
    if (add.operandCount != 2) {
      throw new DecodeException("Capstone decodes 'add eax, 1' with " + add.operandCount + " operands: its "
          + "implicit-register table was damaged before this JVM's first decoder was opened");
    }
  }

  /**
   * Opens a decoder over Debian's libcapstone.so.4 in 64-bit mode with operand details, binding the library if no
   * decoder is open. Under {@link #LOCK}: Capstone's lazy global initialization (its architecture table in cs_open,
   * the sort above) must not run in two threads.
   */
  public static X86Decoder open() throws DecodeException {
    synchronized (LOCK) {
      if (openDecoders == 0) {
        try {
          CapstoneNative.bind();
        } catch (UnsatisfiedLinkError | RuntimeException e) {
          throw new DecodeException("cannot load " + CapstoneNative.LIBRARY + " (Debian package libcapstone4): "
              + e.getMessage(), e);
        }
        firstSinceBound = true;
      }
      openDecoders++;
      long[] h = new long[1];
      try {
        int err = CapstoneNative.cs_open(CapstoneNative.CS_ARCH_X86, CapstoneNative.CS_MODE_64, h);
        if (err != 0) {
          throw new DecodeException("cs_open(x86, 64): " + CapstoneNative.cs_strerror(err));
        }
        err = CapstoneNative.cs_option(h[0], CapstoneNative.CS_OPT_DETAIL, CapstoneNative.CS_OPT_ON);
        if (err != 0) {
          throw new DecodeException("cs_option(detail): " + CapstoneNative.cs_strerror(err));
        }
        return new X86Decoder(h[0]);
      } catch (DecodeException | RuntimeException e) {
        if (h[0] != 0) {
          CapstoneNative.cs_close(h);
        }
        released();
        throw e;
      }
    }
  }

  /** One decoder fewer: the last one of this class loader unbinds libcapstone. Under {@link #LOCK}. */
  private static void released() {
    if (--openDecoders == 0) {
      CapstoneNative.unbind();
    }
  }

  /**
   * Decodes the instruction at {@code pc} from {@code bytes[offset .. offset+available)}.
   *
   * @throws DecodeException when the bytes are not a valid instruction (or are cut short)
   */
  public Instruction decode(long pc, byte[] bytes, int offset, int available) throws DecodeException {
    if (closed) {
      throw new IllegalStateException("decoder closed");
    }
    int n = Math.min(available, MAX_LENGTH);
    Instruction special = decodeOutsideCapstone(bytes, offset, n);
    if (special != null) {
      return special;
    }
    code.write(0, bytes, offset, n);
    codePointer[0] = Pointer.nativeValue(code);
    remaining[0] = n;
    address[0] = pc;
    try {
      if (CapstoneNative.cs_disasm_iter(handle, codePointer, remaining, address, insn) == 0) {
        throw new DecodeException("invalid instruction at 0x%x: %s".formatted(pc, hex(bytes, offset, n)));
      }
      insn.read(0, header, 0, header.length);
      Pointer d = insn.getPointer(CapstoneNative.INSN_DETAIL);
      d.read(CapstoneNative.DETAIL_X86, detail, 0, detail.length);
    } finally {
      Reference.reachabilityFence(code);
    }
    return convert(pc, bytes, offset);
  }

  private Instruction convert(long pc, byte[] bytes, int offset) throws DecodeException {
    ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
    ByteBuffer x = ByteBuffer.wrap(detail).order(ByteOrder.LITTLE_ENDIAN);
    int id = h.getInt(CapstoneNative.INSN_ID);
    int length = h.getShort(CapstoneNative.INSN_SIZE) & 0xffff;
    String text = (cString(header, CapstoneNative.INSN_MNEMONIC) + " "
        + cString(header, CapstoneNative.INSN_OP_STR)).trim();
    byte[] raw = new byte[length];
    System.arraycopy(bytes, offset, raw, 0, length);
    Mnemonic mnemonic = id < tables.mnemonicById.length ? tables.mnemonicById[id] : Mnemonic.UNSUPPORTED;
    int condition = id < tables.conditionById.length ? tables.conditionById[id] : -1;
    int rep = x.get(CapstoneNative.X86_PREFIX) & 0xff;
    int segmentPrefix = x.get(CapstoneNative.X86_PREFIX + 1) & 0xff;
    boolean rexW = (x.get(CapstoneNative.X86_REX) & 0x08) != 0;
    int prefixes = rep == 0xf0 ? Instruction.LOCK : 0;
    int count = x.get(CapstoneNative.X86_OP_COUNT) & 0xff;

    if (mnemonic.string()) {
      // Implicit [rdi]/[rsi] operands; the element size is in the name (movsb .. movsq).
      if (segmentPrefix == 0x64 || segmentPrefix == 0x65 || count != 2 || !stringOperandsOnly(x, count)) {
        return unsupported(text, length, raw);
      }
      if (rep == 0xf3) {
        prefixes |= Instruction.REP;
      } else if (rep == 0xf2) {
        prefixes |= Instruction.REPNE;
      }
      int element = tables.stringElementById[id];
      if (element == 4 && x.get(CapstoneNative.X86_PREFIX + 2) == 0x66) {
        element = 2; // Capstone 4 reads "66 f3 a5" (rep movsw as GNU as emits it) as rep movsd
      }
      return new Instruction(mnemonic, -1, length, prefixes, element, rexW, new Operand[0], text, raw);
    }
    if (mnemonic == Mnemonic.UNSUPPORTED) {
      return unsupported(text, length, raw);
    }
    Operand[] operands = new Operand[count];
    for (int i = 0; i < count; i++) {
      Operand op = operand(x, CapstoneNative.X86_OPERANDS + i * CapstoneNative.OP_STRUCT_SIZE, mnemonic,
          pc + length);
      if (op == null || i >= 3) {
        return unsupported(text, length, raw);
      }
      operands[i] = op;
    }
    int size = count > 0 ? operands[0].size : implicitSize(mnemonic);
    return new Instruction(mnemonic, condition, length, prefixes, size, rexW, operands, text, raw);
  }

  private Operand operand(ByteBuffer x, int at, Mnemonic mnemonic, long next) {
    int type = x.getInt(at + CapstoneNative.OP_TYPE);
    int size = x.get(at + CapstoneNative.OP_SIZE) & 0xff;
    switch (type) {
      case CapstoneNative.OP_TYPE_REG: {
        Reg.Named r = register(x.getInt(at + CapstoneNative.OP_REG));
        if (r == null) {
          return null;
        }
        switch (r.kind()) {
          case Reg.GPR: return Operand.register(r.number(), r.size(), r.high8());
          case Reg.SEGMENT: return Operand.segmentRegister(r.number());
          case Reg.CONTROL: return Operand.controlRegister(r.number());
          default: return null;
        }
      }
      case CapstoneNative.OP_TYPE_IMM: {
        long imm = x.getLong(at + CapstoneNative.OP_IMM);
        boolean branch = mnemonic == Mnemonic.JCC || mnemonic == Mnemonic.JMP || mnemonic == Mnemonic.CALL
            || mnemonic == Mnemonic.JRCXZ || mnemonic == Mnemonic.LOOP || mnemonic == Mnemonic.LOOPE
            || mnemonic == Mnemonic.LOOPNE;
        return branch ? Operand.relative(imm - next) : Operand.immediate(imm, size);
      }
      case CapstoneNative.OP_TYPE_MEM: {
        int m = at + CapstoneNative.OP_MEM;
        Reg.Named seg = register(x.getInt(m + CapstoneNative.MEM_SEGMENT));
        Reg.Named base = register(x.getInt(m + CapstoneNative.MEM_BASE));
        Reg.Named index = register(x.getInt(m + CapstoneNative.MEM_INDEX));
        int baseReg = Reg.NONE;
        int indexReg = Reg.NONE;
        boolean address32 = false;
        if (base != null) {
          if (base.kind() != Reg.GPR && base.kind() != Reg.INSTRUCTION_POINTER) {
            return null;
          }
          baseReg = base.number();
          address32 = base.size() == 4;
        }
        if (index != null) {
          if (index.kind() != Reg.GPR) {
            return null;
          }
          indexReg = index.number();
          address32 |= index.size() == 4;
        }
        int segment = seg != null && (seg.number() == Reg.FS || seg.number() == Reg.GS) ? seg.number() : Reg.NONE;
        int scale = x.getInt(m + CapstoneNative.MEM_SCALE);
        return Operand.memory(size, segment, baseReg, indexReg, scale, x.getLong(m + CapstoneNative.MEM_DISP),
            address32);
      }
      default:
        return null;
    }
  }

  private Reg.Named register(int id) {
    return id > 0 && id < tables.registerById.length ? tables.registerById[id] : null;
  }

  private static boolean stringOperandsOnly(ByteBuffer x, int count) {
    for (int i = 0; i < count; i++) {
      int type = x.getInt(CapstoneNative.X86_OPERANDS + i * CapstoneNative.OP_STRUCT_SIZE);
      if (type != CapstoneNative.OP_TYPE_MEM && type != CapstoneNative.OP_TYPE_REG) {
        return false;
      }
    }
    // SSE movsd/cmpsd share Capstone ids with the string forms; they have a 16-byte register operand.
    for (int i = 0; i < count; i++) {
      int at = CapstoneNative.X86_OPERANDS + i * CapstoneNative.OP_STRUCT_SIZE;
      if ((x.get(at + CapstoneNative.OP_SIZE) & 0xff) > 8) {
        return false;
      }
    }
    return true;
  }

  private static int implicitSize(Mnemonic m) {
    switch (m) {
      case CBW: case CWD: return 2;
      case CWDE: case CDQ: return 4;
      default: return 8;
    }
  }

  private static Instruction unsupported(String text, int length, byte[] raw) {
    return new Instruction(Mnemonic.UNSUPPORTED, -1, length, 0, 0, false, new Operand[0], text, raw);
  }

  /**
   * Instructions Capstone 4 decodes wrongly: rdpid (f3 [rex] 0f c7 /7, register form) comes out as rdseed.
   */
  private static Instruction decodeOutsideCapstone(byte[] b, int off, int n) {
    int i = off;
    int end = off + n;
    if (i >= end || (b[i] & 0xff) != 0xf3) {
      return null;
    }
    i++;
    int rex = 0;
    if (i < end && (b[i] & 0xf0) == 0x40) {
      rex = b[i++] & 0xff;
    }
    if (i + 2 < end && (b[i] & 0xff) == 0x0f && (b[i + 1] & 0xff) == 0xc7) {
      int modrm = b[i + 2] & 0xff;
      if ((modrm >> 6) == 3 && ((modrm >> 3) & 7) == 7) {
        int reg = (modrm & 7) | ((rex & 1) << 3);
        int length = i + 3 - off;
        byte[] raw = new byte[length];
        System.arraycopy(b, off, raw, 0, length);
        return new Instruction(Mnemonic.RDPID, -1, length, 0, 8, true,
            new Operand[] {Operand.register(reg, 8, false)}, "rdpid " + Reg.name(reg), raw);
      }
    }
    return null;
  }

  private static String cString(byte[] b, int at) {
    int end = at;
    while (end < b.length && b[end] != 0) {
      end++;
    }
    return new String(b, at, end - at, StandardCharsets.US_ASCII);
  }

  static String hex(byte[] b, int off, int n) {
    StringBuilder sb = new StringBuilder();
    for (int i = 0; i < n; i++) {
      sb.append(i == 0 ? "" : " ").append("%02x".formatted(b[off + i] & 0xff));
    }
    return sb.toString();
  }

  @Override
  public void close() {
    synchronized (LOCK) {
      if (!closed) {
        closed = true;
        CapstoneNative.cs_free(insn, 1);
        CapstoneNative.cs_close(new long[] {handle});
        code.close(); // now, not when collected: until then JNA's cleaner thread, and with it this class loader, stays
        released();
      }
    }
  }
}
