package io.hybridbridge.emulator.decode;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;

/**
 * Decoded instructions of one body of code (one kernel build), by pc, shared by every CPU that runs it.
 *
 * <p>Thread-safe: entries are immutable and published through the page arrays (final fields make them
 * safe to read from any thread); two threads decoding the same pc store equal instructions.
 *
 * <p>Saved as a versioned, gzip-compressed binary file (format below) so that decoding is memoized per
 * kernel build. The {@link #codeIdentity} (e.g. the build's GNU build-id) is checked on load. Because the
 * decoded form is position-independent, the file stores pcs minus a bias the caller chooses (the KASLR
 * slide of the image), and a reload under another slide adds that one.
 *
 * <pre>
 * file    := "HBDC" u16:version utf:codeIdentity u16:mnemonicCount utf:mnemonicName* u32:count entry*
 * entry   := s64:pc-bias u8:length byte[length] u8:mnemonic s8:condition u8:prefixes u8:operandSize
 *            bool:rexW u8:operandCount operand* utf:text
 * operand := u8:kind u8:size s8:reg bool:high8 s64:imm s8:segment s8:base s8:index u8:scale s64:disp
 *            bool:address32
 * </pre>
 * Mnemonics are stored by name, so reordering {@link Mnemonic} does not invalidate saved caches; a name the
 * reader does not know is an error (a newer writer), as is any other version.
 */
public final class DecodeCache {
  public static final int FORMAT_VERSION = 1;
  private static final byte[] MAGIC = {'H', 'B', 'D', 'C'};
  private static final int PAGE_SHIFT = 12;
  private static final int PAGE_SIZE = 1 << PAGE_SHIFT;

  private final String codeIdentity;
  private final Map<Long, Instruction[]> pages = new ConcurrentHashMap<>();

  public DecodeCache(String codeIdentity) {
    this.codeIdentity = codeIdentity;
  }

  public String codeIdentity() {
    return codeIdentity;
  }

  /** The decoded instruction at {@code pc}, or null. */
  public Instruction get(long pc) {
    Instruction[] page = pages.get(pc >>> PAGE_SHIFT);
    return page == null ? null : page[(int) pc & (PAGE_SIZE - 1)];
  }

  public void put(long pc, Instruction instruction) {
    page(pc >>> PAGE_SHIFT)[(int) pc & (PAGE_SIZE - 1)] = instruction;
  }

  /**
   * The array holding the instructions of code page {@code pageNumber} (pc >>> 12), indexed by pc & 0xfff;
   * created empty when absent. CPUs keep it to look up pcs of that page without hashing.
   */
  public Instruction[] page(long pageNumber) {
    return pages.computeIfAbsent(pageNumber, p -> new Instruction[PAGE_SIZE]);
  }

  /** Number of decoded instructions held. */
  public int size() {
    int n = 0;
    for (Instruction[] page : pages.values()) {
      for (Instruction i : page) {
        n += i == null ? 0 : 1;
      }
    }
    return n;
  }

  /** Writes the cache atomically (temp file + rename), storing each pc as {@code pc - pcBias}. */
  public void save(Path file, long pcBias) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    try (OutputStream os = Files.newOutputStream(tmp);
        DataOutputStream out = new DataOutputStream(new BufferedOutputStream(new GZIPOutputStream(os)))) {
      write(out, pcBias);
    }
    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private void write(DataOutputStream out, long pcBias) throws IOException {
    out.write(MAGIC);
    out.writeShort(FORMAT_VERSION);
    out.writeUTF(codeIdentity);
    Mnemonic[] mnemonics = Mnemonic.values();
    out.writeShort(mnemonics.length);
    for (Mnemonic m : mnemonics) {
      out.writeUTF(m.name());
    }
    List<Map.Entry<Long, Instruction>> entries = new ArrayList<>();
    pages.forEach((page, insns) -> {
      for (int i = 0; i < insns.length; i++) {
        if (insns[i] != null) {
          entries.add(Map.entry((page << PAGE_SHIFT) | i, insns[i]));
        }
      }
    });
    out.writeInt(entries.size());
    for (Map.Entry<Long, Instruction> e : entries) {
      Instruction insn = e.getValue();
      out.writeLong(e.getKey() - pcBias);
      byte[] bytes = insn.bytes();
      out.writeByte(bytes.length);
      out.write(bytes);
      out.writeByte(insn.mnemonic.ordinal());
      out.writeByte(insn.condition);
      out.writeByte(insn.prefixes);
      out.writeByte(insn.operandSize);
      out.writeBoolean(insn.rexW);
      out.writeByte(insn.operandCount);
      for (Operand o : insn.operands()) {
        out.writeByte(o.kind);
        out.writeByte(o.size);
        out.writeByte(o.reg);
        out.writeBoolean(o.high8);
        out.writeLong(o.imm);
        out.writeByte(o.segment);
        out.writeByte(o.base);
        out.writeByte(o.index);
        out.writeByte(o.scale);
        out.writeLong(o.disp);
        out.writeBoolean(o.address32);
      }
      out.writeUTF(insn.text);
    }
  }

  /**
   * Reads a cache written by {@link #save}, adding {@code pcBias} to every stored pc.
   *
   * @throws IOException when the file is unreadable, truncated, of another format version, or was written
   *     for another code identity
   */
  public static DecodeCache load(Path file, String expectedIdentity, long pcBias) throws IOException {
    try (InputStream is = Files.newInputStream(file);
        DataInputStream in = new DataInputStream(new BufferedInputStream(new GZIPInputStream(is)))) {
      return read(in, expectedIdentity, pcBias, file);
    } catch (EOFException e) {
      throw new IOException(file + ": decode cache is truncated", e);
    }
  }

  private static DecodeCache read(DataInputStream in, String expectedIdentity, long pcBias, Path file)
      throws IOException {
    byte[] magic = new byte[4];
    in.readFully(magic);
    if (!java.util.Arrays.equals(magic, MAGIC)) {
      throw new IOException(file + ": not a decode cache (bad magic)");
    }
    int version = in.readUnsignedShort();
    if (version != FORMAT_VERSION) {
      throw new IOException(file + ": decode cache format version " + version + ", this reader knows "
          + FORMAT_VERSION);
    }
    String identity = in.readUTF();
    if (!identity.equals(expectedIdentity)) {
      throw new IOException(file + ": decode cache is for code '" + identity + "', not '" + expectedIdentity
          + "'");
    }
    int mnemonicCount = in.readUnsignedShort();
    Map<String, Mnemonic> known = new HashMap<>();
    for (Mnemonic m : Mnemonic.values()) {
      known.put(m.name(), m);
    }
    Mnemonic[] byIndex = new Mnemonic[mnemonicCount];
    for (int i = 0; i < mnemonicCount; i++) {
      String name = in.readUTF();
      byIndex[i] = known.get(name);
    }
    DecodeCache cache = new DecodeCache(identity);
    int count = in.readInt();
    if (count < 0) {
      throw new IOException(file + ": corrupt decode cache (negative entry count)");
    }
    for (int n = 0; n < count; n++) {
      long pc = in.readLong() + pcBias;
      int length = in.readUnsignedByte();
      if (length < 1 || length > X86Decoder.MAX_LENGTH) {
        throw new IOException(file + ": corrupt decode cache (instruction length " + length + ")");
      }
      byte[] bytes = new byte[length];
      in.readFully(bytes);
      int mnemonicIndex = in.readUnsignedByte();
      if (mnemonicIndex >= byIndex.length || byIndex[mnemonicIndex] == null) {
        throw new IOException(file + ": decode cache names a mnemonic this reader does not know");
      }
      int condition = in.readByte();
      int prefixes = in.readUnsignedByte();
      int operandSize = in.readUnsignedByte();
      boolean rexW = in.readBoolean();
      int operandCount = in.readUnsignedByte();
      if (operandCount > 3) {
        throw new IOException(file + ": corrupt decode cache (" + operandCount + " operands)");
      }
      Operand[] operands = new Operand[operandCount];
      for (int i = 0; i < operandCount; i++) {
        operands[i] = Operand.of(in.readByte(), in.readUnsignedByte(), in.readByte(), in.readBoolean(),
            in.readLong(), in.readByte(), in.readByte(), in.readByte(), in.readUnsignedByte(), in.readLong(),
            in.readBoolean());
      }
      String text = in.readUTF();
      cache.put(pc, new Instruction(byIndex[mnemonicIndex], condition, length, prefixes, operandSize, rexW,
          operands, text, bytes));
    }
    return cache;
  }
}
