package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.cpu.unicorn.Unicorn;
import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.decode.Reg;
import java.nio.charset.StandardCharsets;

/**
 * Calls a real kernel function (System V ABI) on our CPU or on Unicorn, with its arguments, strings and output
 * buffers in a 64 KiB scratch area ({@link #SCRATCH}: data at 0..0x7fff, stack below 0xf000, per-CPU page at
 * 0xf000 with a stack canary) and a return address that stops the run.
 */
final class KernelSandbox {
  static final long SCRATCH = 0x7f0000000000L;
  static final int SCRATCH_SIZE = 0x10000;
  static final long STACK_TOP = SCRATCH + 0xe000;
  static final long PERCPU = SCRATCH + 0xf000;
  static final long RETURN = 0x7f00dead0000L;
  static final int[] ARGUMENT_REGISTERS = {Reg.RDI, Reg.RSI, Reg.RDX, Reg.RCX, Reg.R8, Reg.R9};

  final KernelImage kernel;
  final SparseImage image = new SparseImage();
  final FrameCache frames;
  final DecodeCache decodeCache;

  KernelSandbox(KernelImage kernel) {
    this.kernel = kernel;
    for (KernelImage.Segment s : kernel.segments) {
      image.put(s.address(), s.bytes());
    }
    frames = new FrameCache(image);
    decodeCache = new DecodeCache(kernel.build);
  }

  /** The scratch contents of one call: strings and data placed at offsets. */
  static final class Scratch {
    final byte[] bytes = new byte[SCRATCH_SIZE];

    Scratch() {
      for (int i = 0; i < 8; i++) {
        bytes[0xf028 + i] = (byte) (0x5a + i); // the stack canary at gs:0x28
      }
    }

    long string(int offset, String s) {
      byte[] b = s.getBytes(StandardCharsets.UTF_8);
      System.arraycopy(b, 0, bytes, offset, b.length);
      bytes[offset + b.length] = 0;
      return SCRATCH + offset;
    }

    long data(int offset, byte[] b) {
      System.arraycopy(b, 0, bytes, offset, b.length);
      return SCRATCH + offset;
    }

    long address(int offset) {
      return SCRATCH + offset;
    }

    /** Writes the return address and the stack arguments (beyond the sixth) below STACK_TOP. */
    void stack(long[] args) {
      int sp = (int) (STACK_TOP - SCRATCH) - 8;
      putLong(sp, RETURN);
      for (int i = 6; i < args.length; i++) {
        putLong(sp + 8 * (i - 5), args[i]);
      }
    }

    String cString(long address) {
      int at = (int) (address - SCRATCH);
      int end = at;
      while (bytes[end] != 0) {
        end++;
      }
      return new String(bytes, at, end - at, StandardCharsets.UTF_8);
    }

    long getLong(long address) {
      int at = (int) (address - SCRATCH);
      long v = 0;
      for (int i = 7; i >= 0; i--) {
        v = (v << 8) | (bytes[at + i] & 0xff);
      }
      return v;
    }

    private void putLong(int at, long v) {
      for (int i = 0; i < 8; i++) {
        bytes[at + i] = (byte) (v >>> (8 * i));
      }
    }
  }

  /** Result of one call: registers, the stop, the scratch area afterwards. */
  record Outcome(long[] registers, Stop stop, Scratch scratch) {}

  Outcome callOurs(String function, Scratch scratch, long... args) throws Exception {
    scratch.stack(args);
    PagedMemory memory = new PagedMemory(frames, image.identity());
    ScratchWindow window = memory.mapScratch(SCRATCH, SCRATCH_SIZE);
    window.put(SCRATCH, scratch.bytes);
    CpuState state = new CpuState();
    for (int i = 0; i < Math.min(6, args.length); i++) {
      state.set(ARGUMENT_REGISTERS[i], args[i]);
    }
    state.set(Reg.RSP, STACK_TOP - 8);
    state.setRip(kernel.symbol(function));
    state.setGsBase(PERCPU);
    Stop stop;
    try (Cpu cpu = new Cpu(state, memory, decodeCache)) {
      cpu.addHook(RETURN, c -> PcHook.Result.stop("returned"));
      stop = cpu.run(50_000_000);
    }
    Scratch after = new Scratch();
    System.arraycopy(window.get(SCRATCH, SCRATCH_SIZE), 0, after.bytes, 0, SCRATCH_SIZE);
    long[] regs = new long[17];
    for (int i = 0; i < 16; i++) {
      regs[i] = state.get(i);
    }
    regs[16] = state.rip();
    return new Outcome(regs, stop, after);
  }

  /** A Unicorn with the kernel's segments and the scratch area mapped. */
  Unicorn unicorn() {
    Unicorn uc = new Unicorn();
    for (KernelImage.Segment s : kernel.segments) {
      uc.map(s.address(), (s.bytes().length + 0xfffL) & ~0xfffL);
      uc.write(s.address(), s.bytes());
    }
    uc.map(SCRATCH, SCRATCH_SIZE);
    return uc;
  }

  Outcome callUnicorn(Unicorn uc, String function, Scratch scratch, long... args) {
    scratch.stack(args);
    uc.write(SCRATCH, scratch.bytes);
    for (int i = 0; i < 16; i++) {
      uc.setReg(Unicorn.GPR[i], 0);
    }
    for (int i = 0; i < Math.min(6, args.length); i++) {
      uc.setReg(Unicorn.GPR[ARGUMENT_REGISTERS[i]], args[i]);
    }
    uc.setReg(Unicorn.GPR[Reg.RSP], STACK_TOP - 8);
    uc.setReg(Unicorn.REG_EFLAGS, 2);
    uc.setReg(Unicorn.REG_GS_BASE, PERCPU);
    int err = uc.run(kernel.symbol(function), RETURN, 50_000_000);
    Scratch after = new Scratch();
    System.arraycopy(uc.read(SCRATCH, SCRATCH_SIZE), 0, after.bytes, 0, SCRATCH_SIZE);
    long[] regs = new long[17];
    for (int i = 0; i < 16; i++) {
      regs[i] = uc.reg(Unicorn.GPR[i]);
    }
    regs[16] = uc.reg(Unicorn.REG_RIP);
    Stop stop = err == 0 ? null : new Stop(Stop.Reason.FAULT, regs[16], Unicorn.error(err), null, 0);
    return new Outcome(regs, stop, after);
  }
}
