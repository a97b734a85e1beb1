package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.memory.PageTableWalker;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.Snapshots;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A reference snapshot made runnable for CPU tests and benchmarks: its registers (the agent in user mode), its
 * memory copy-on-write through its own page tables, the MSRs Linux programs for syscall (LSTAR from the
 * reference's kallsyms), a scratch window for buffers. Not the syscall driver: no time model, no hooks.
 */
final class ReferenceMachine implements AutoCloseable {
  static final long SCRATCH = 0x7f0000000000L;
  private static final int[] ARGUMENTS = {Reg.RDI, Reg.RSI, Reg.RDX, Reg.R10, Reg.R8, Reg.R9};

  final ReferenceStore.Reference reference;
  final Snapshot snapshot;
  final CpuState state;
  final PagedMemory memory;
  final ScratchWindow scratch;
  final Cpu cpu;
  final long userRip;

  ReferenceMachine(ReferenceStore.Reference reference, DecodeCache decoded) throws Exception {
    this.reference = reference;
    Profile profile = reference.profile();
    snapshot = Snapshots.open(reference.snapshot());
    var dump = snapshot.cpus().get(0);
    if (!dump.userMode()) {
      throw new IllegalStateException(reference.id() + " was not caught in user mode");
    }
    int levels = dump.pagingLevels();
    boolean wp = (dump.cr0() & io.hybridbridge.emulator.snapshot.CpuState.CR0_WP) != 0;
    state = CpuState.of(dump);
    state.setMsr(Msr.LSTAR, profile.address("entry_SYSCALL_64").getAsLong() + profile.referenceSlide());
    state.setMsr(Msr.STAR, 0x0023_0010_0000_0000L); // __USER32_CS << 48 | __KERNEL_CS << 32
    state.setMsr(Msr.FMASK, 0x47700); // TF DF IF IOPL NT AC, as Linux programs it
    state.setMsr(Msr.EFER, 0xd01);
    state.setMsr(Msr.TSC_AUX, 0);
    memory = new PagedMemory(new FrameCache(snapshot), new PageTableWalker(snapshot, dump.cr3(), levels, wp));
    scratch = memory.mapScratch(SCRATCH, 0x10000);
    cpu = new Cpu(state, memory, decoded);
    cpu.setTranslatorFactory(cr3 -> new PageTableWalker(snapshot, cr3, levels, wp));
    userRip = state.rip();
  }

  /** The reference's ground truth section {@code name}: what the guest printed (raw.txt, HB-BEGIN..HB-END). */
  String truth(String name) throws Exception {
    Path raw = reference.snapshot().resolveSibling("truth").resolve("raw.txt");
    String text = new String(Files.readAllBytes(raw), StandardCharsets.ISO_8859_1);
    Matcher m = Pattern.compile("@@HB-BEGIN " + Pattern.quote(name) + "\n(.*?)\n@@HB-END " + Pattern.quote(name),
        Pattern.DOTALL).matcher(text);
    if (!m.find()) {
      throw new IllegalStateException(raw + " has no section " + name);
    }
    return m.group(1);
  }

  /** A system call from the agent's user context; RAX once the kernel returned to user mode. */
  long syscall(long nr, long... args) {
    state.set(Reg.RAX, nr);
    for (int i = 0; i < args.length; i++) {
      state.set(ARGUMENTS[i], args[i]);
    }
    cpu.enterSyscall();
    Stop stop = cpu.run(50_000_000);
    if (stop.reason() != Stop.Reason.USER_RETURN || stop.pc() != userRip) {
      throw new IllegalStateException(reference.id() + ": syscall " + nr + " did not return to the agent: " + stop);
    }
    lastInstructions = stop.instructions();
    return state.get(Reg.RAX);
  }

  long lastInstructions;

  /** openat + read to EOF + close of {@code path}; the text read. */
  String readFile(String path) {
    scratch.putString(SCRATCH + 0x1000, path);
    long fd = syscall(257, -100, SCRATCH + 0x1000, 0);
    if (fd < 0) {
      throw new IllegalStateException(path + ": openat returned " + fd);
    }
    StringBuilder text = new StringBuilder();
    while (true) {
      long n = syscall(0, fd, SCRATCH + 0x2000, 0x8000);
      if (n < 0) {
        throw new IllegalStateException(path + ": read returned " + n);
      }
      if (n == 0) {
        break;
      }
      text.append(new String(scratch.get(SCRATCH + 0x2000, (int) n), StandardCharsets.ISO_8859_1));
    }
    syscall(3, fd);
    return text.toString();
  }

  String cString(long address, int max) {
    byte[] b = scratch.get(address, max);
    int n = 0;
    while (n < b.length && b[n] != 0) {
      n++;
    }
    return new String(b, 0, n, StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() {
    cpu.close();
    snapshot.close();
  }
}
