package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.decode.Reg;
import java.io.IOException;

/** A CPU over a synthetic identity-mapped image: code at {@link #CODE}, 16 KiB data, 8 KiB stack. */
final class TestMachine implements AutoCloseable {
  static final long CODE = 0x10000;
  static final long DATA = 0x200000;
  static final long STACK = 0x300000;

  final SparseImage image = new SparseImage();
  final PagedMemory memory;
  final CpuState state = new CpuState();
  final Cpu cpu;
  final byte[] code;

  TestMachine(String assembly) throws IOException {
    code = GnuAssembler.assemble(assembly);
    image.put(CODE, code).map(CODE, 0x2000).map(DATA, 0x4000).map(STACK, 0x2000);
    memory = new PagedMemory(new FrameCache(image), image.identity());
    state.setRip(CODE);
    state.set(Reg.RSP, STACK + 0x1000);
    cpu = new Cpu(state, memory, new DecodeCache("test"));
  }

  Stop run() {
    return cpu.run(1_000_000);
  }

  long reg(int r) {
    return state.get(r);
  }

  @Override
  public void close() {
    cpu.close();
  }
}
