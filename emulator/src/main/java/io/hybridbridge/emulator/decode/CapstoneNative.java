package io.hybridbridge.emulator.decode;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * Direct-mapped JNA binding to Debian's libcapstone.so.4 (Capstone 4.0.x), with only what the decoder uses.
 * Structures are read at the fixed offsets below, computed from /usr/include/capstone (cs_insn, cs_detail,
 * cs_x86, cs_x86_op, x86_op_mem for x86-64, LP64) and checked against the headers by CapstoneLayoutTest.
 */
final class CapstoneNative {
  static final String LIBRARY = "libcapstone.so.4";

  static final int CS_ARCH_X86 = 3;
  static final int CS_MODE_64 = 8;
  static final int CS_OPT_DETAIL = 2;
  static final int CS_OPT_ON = 3;

  // cs_insn
  static final int INSN_ID = 0;
  static final int INSN_SIZE = 16;
  static final int INSN_BYTES = 18;
  static final int INSN_MNEMONIC = 34;
  static final int INSN_OP_STR = 66;
  static final int INSN_DETAIL = 232;
  static final int INSN_STRUCT_SIZE = 240;
  // cs_detail: the architecture union starts here
  static final int DETAIL_X86 = 80;
  // cs_x86, relative to DETAIL_X86
  static final int X86_PREFIX = 0;
  static final int X86_REX = 8;
  static final int X86_ADDR_SIZE = 9;
  static final int X86_OP_COUNT = 64;
  static final int X86_OPERANDS = 72;
  static final int X86_MAX_OPERANDS = 8;
  // cs_x86_op
  static final int OP_STRUCT_SIZE = 48;
  static final int OP_TYPE = 0;
  static final int OP_REG = 8;
  static final int OP_IMM = 8;
  static final int OP_MEM = 8;
  static final int OP_SIZE = 32;
  // x86_op_mem, relative to OP_MEM
  static final int MEM_SEGMENT = 0;
  static final int MEM_BASE = 4;
  static final int MEM_INDEX = 8;
  static final int MEM_SCALE = 12;
  static final int MEM_DISP = 16;
  // x86_op_type
  static final int OP_TYPE_REG = 1;
  static final int OP_TYPE_IMM = 2;
  static final int OP_TYPE_MEM = 3;

  /** The library the methods below are bound to, or null when they are not (see {@link #bind}). */
  private static NativeLibrary library;

  /**
   * Binds the methods below to libcapstone (JNA's direct mapping), loading the library. The binding is held only
   * while a decoder is open ({@link X86Decoder#open}, {@link X86Decoder#close}, under their lock): JNA keeps a JNI
   * global reference to each bound method and a cleaner thread for the library while it is bound, and either keeps
   * the class loader of this class alive. On a Flink TaskManager that is each job's class loader, with all its
   * classes: ≈ 37 MB of metaspace per job, until the TaskManager died of it.
   *
   * @throws UnsatisfiedLinkError when the library (Debian package libcapstone4) cannot be loaded or lacks a symbol
   */
  static void bind() {
    NativeLibrary loaded = NativeLibrary.getInstance(LIBRARY);
    try {
      Native.register(CapstoneNative.class, loaded);
    } catch (UnsatisfiedLinkError | RuntimeException e) {
      loaded.close();
      throw e;
    }
    library = loaded;
  }

  /** Undoes {@link #bind}: the methods below throw UnsatisfiedLinkError until the next bind. */
  static void unbind() {
    Native.unregister(CapstoneNative.class);
    library.close();
    library = null;
  }

  private CapstoneNative() {}

  static native int cs_open(int arch, int mode, long[] handle);

  static native int cs_option(long handle, int type, long value);

  static native Pointer cs_malloc(long handle);

  static native void cs_free(Pointer insn, long count);

  /** C bool: read as a byte (the upper bits of the return register are undefined). */
  static native byte cs_disasm_iter(long handle, long[] code, long[] size, long[] address, Pointer insn);

  static native int cs_close(long[] handle);

  static native Pointer cs_insn_name(long handle, int instructionId);

  static native Pointer cs_reg_name(long handle, int registerId);

  static native String cs_strerror(int code);
}
