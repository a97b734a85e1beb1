package io.hybridbridge.emulator.cpu.unicorn;

import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;

/**
 * A minimal direct-mapped JNA binding to Debian's libunicorn.so.2 (Unicorn 2.0.x), x86-64 only: the reference
 * CPU of the differential tests. Register ids are those of unicorn/x86.h (uc_x86_reg) in 2.0.
 */
public final class Unicorn implements AutoCloseable {
  private static final int UC_ARCH_X86 = 4;
  private static final int UC_MODE_64 = 8;
  public static final int PROT_ALL = 7;

  public static final int REG_EFLAGS = 25;
  public static final int REG_RIP = 41;
  public static final int REG_MSR = 248;
  public static final int REG_FS_BASE = 250;
  public static final int REG_GS_BASE = 251;
  /** uc_x86_reg ids of RAX..R15 in x86 encoding order. */
  public static final int[] GPR = {35, 38, 40, 37, 44, 36, 43, 39, 106, 107, 108, 109, 110, 111, 112, 113};

  static {
    Native.register(Unicorn.class, NativeLibrary.getInstance("libunicorn.so.2"));
  }

  private static native int uc_open(int arch, int mode, long[] uc);

  private static native int uc_close(long uc);

  /** uc_ctl is variadic; on x86-64 a call with integer arguments is the same as a fixed one. */
  private static native int uc_ctl(long uc, int control, long argument);

  private static native int uc_mem_map(long uc, long address, long size, int perms);

  private static native int uc_mem_write(long uc, long address, byte[] bytes, long size);

  private static native int uc_mem_read(long uc, long address, byte[] bytes, long size);

  private static native int uc_reg_write(long uc, int regid, long[] value);

  private static native int uc_reg_read(long uc, int regid, long[] value);

  private static native int uc_emu_start(long uc, long begin, long until, long timeout, long count);

  private static native String uc_strerror(int err);

  private final long uc;
  private final long[] one = new long[1];

  /** UC_CPU_X86_BROADWELL: has SMAP (stac/clac), BMI1 (tzcnt), ABM (lzcnt), POPCNT like the kernels' CPUs. */
  private static final int CPU_BROADWELL = 20;
  /** UC_CTL_WRITE(UC_CTL_CPU_MODEL, 1). */
  private static final int CTL_WRITE_CPU_MODEL = (1 << 30) | (1 << 26) | 7;

  public Unicorn() {
    long[] h = new long[1];
    check(uc_open(UC_ARCH_X86, UC_MODE_64, h), "uc_open");
    uc = h[0];
    check(uc_ctl(uc, CTL_WRITE_CPU_MODEL, CPU_BROADWELL), "uc_ctl(cpu model)");
  }

  public void map(long address, long size) {
    check(uc_mem_map(uc, address, size, PROT_ALL), "uc_mem_map");
  }

  public void write(long address, byte[] bytes) {
    check(uc_mem_write(uc, address, bytes, bytes.length), "uc_mem_write");
  }

  public byte[] read(long address, int length) {
    byte[] b = new byte[length];
    check(uc_mem_read(uc, address, b, length), "uc_mem_read");
    return b;
  }

  public void setReg(int id, long value) {
    one[0] = value;
    check(uc_reg_write(uc, id, one), "uc_reg_write");
  }

  public long reg(int id) {
    one[0] = 0;
    check(uc_reg_read(uc, id, one), "uc_reg_read");
    return one[0];
  }

  public void setMsr(int msr, long value) {
    check(uc_reg_write(uc, REG_MSR, new long[] {msr & 0xffffffffL, value}), "uc_reg_write(msr)");
  }

  public long msr(int msr) {
    long[] v = {msr & 0xffffffffL, 0};
    check(uc_reg_read(uc, REG_MSR, v), "uc_reg_read(msr)");
    return v[1];
  }

  /** Runs from {@code begin} until RIP reaches {@code until}; returns 0 or Unicorn's error code. */
  public int run(long begin, long until, long maxInstructions) {
    return uc_emu_start(uc, begin, until, 0, maxInstructions);
  }

  public static String error(int code) {
    return uc_strerror(code);
  }

  private static void check(int err, String what) {
    if (err != 0) {
      throw new IllegalStateException(what + ": " + uc_strerror(err));
    }
  }

  @Override
  public void close() {
    uc_close(uc);
  }
}
