package io.hybridbridge.emulator.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.memory.PageTableWalker;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.Snapshots;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The CPU runs real system calls of each reference snapshot on itself (no redirection, no hooks): the kernel's
 * own entry code (swapgs, stack switch, PTI CR3 switch when enabled), getpid and uname, until sysretq. This is
 * a smoke test of the CPU on real kernel paths, not the syscall driver (which enters from a profile-driven
 * model of MSRs and time).
 */
@Tag("dataset")
class RealSyscallTest {
  static final long SCRATCH = 0x7f0000000000L;

  @Test
  void getpidAndUnameOnEveryReference() throws Exception {
    ReferenceStore store = ReferenceStore.open(ReferenceStore.defaultDatasetDirectory());
    assertThat(store.references()).isNotEmpty();
    for (ReferenceStore.Reference ref : store.references()) {
      Profile profile = ref.profile();
      try (Snapshot snapshot = Snapshots.open(ref.snapshot())) {
        var dump = snapshot.cpus().get(0);
        assertThat(dump.userMode()).as(ref.id() + " caught in user mode").isTrue();
        long entry = profile.address("entry_SYSCALL_64").getAsLong() + profile.referenceSlide();
        int levels = dump.pagingLevels();
        boolean wp = (dump.cr0() & io.hybridbridge.emulator.snapshot.CpuState.CR0_WP) != 0;

        CpuState state = CpuState.of(dump);
        state.setMsr(Msr.LSTAR, entry);
        state.setMsr(Msr.STAR, 0x0023_0010_0000_0000L);
        state.setMsr(Msr.FMASK, 0x47700);
        state.setMsr(Msr.EFER, 0xd01);
        state.setMsr(Msr.TSC_AUX, 0);
        PagedMemory memory = new PagedMemory(new FrameCache(snapshot),
            new PageTableWalker(snapshot, dump.cr3(), levels, wp));
        ScratchWindow scratch = memory.mapScratch(SCRATCH, 0x10000);
        DecodeCache decoded = new DecodeCache(ref.kernelBuild());
        try (Cpu cpu = new Cpu(state, memory, decoded)) {
          cpu.setTranslatorFactory(cr3 -> new PageTableWalker(snapshot, cr3, levels, wp));
          long userRip = state.rip();

          state.set(Reg.RAX, 39); // getpid
          cpu.enterSyscall();
          Stop stop = cpu.run(1_000_000);
          assertThat(stop.reason()).as(ref.id() + ": " + stop).isEqualTo(Stop.Reason.USER_RETURN);
          assertThat(stop.pc()).isEqualTo(userRip);
          long pid = state.get(Reg.RAX);
          java.nio.file.Path agent = ref.snapshot().resolveSibling("agent.json");
          java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"pid\"\\s*:\\s*(\\d+)")
              .matcher(java.nio.file.Files.readString(agent));
          assertThat(m.find()).as(agent + " names the agent's pid").isTrue();
          assertThat(pid).as(ref.id() + " getpid").isEqualTo(Long.parseLong(m.group(1)));
          System.out.printf("%s: getpid = %d in %,d instructions%n", ref.id(), pid, stop.instructions());

          state.set(Reg.RAX, 63); // uname
          state.set(Reg.RDI, SCRATCH);
          cpu.enterSyscall();
          stop = cpu.run(1_000_000);
          assertThat(stop.reason()).as(ref.id() + ": " + stop).isEqualTo(Stop.Reason.USER_RETURN);
          assertThat(state.get(Reg.RAX)).isZero();
          String sysname = cString(scratch, SCRATCH);
          String release = cString(scratch, SCRATCH + 65 * 2);
          assertThat(sysname).isEqualTo("Linux");
          assertThat(release).isEqualTo(ref.kernelBuild());
          System.out.printf("%s: uname = %s %s %s in %,d instructions%n", ref.id(), sysname,
              cString(scratch, SCRATCH + 65), release, stop.instructions());

          // openat(AT_FDCWD, "/proc/version", O_RDONLY), read, close
          scratch.putString(SCRATCH + 0x1000, "/proc/version");
          long fd = syscall(cpu, 257, -100, SCRATCH + 0x1000, 0);
          assertThat(fd).as(ref.id() + " openat").isNotNegative();
          long n = syscall(cpu, 0, fd, SCRATCH + 0x2000, 4096);
          assertThat(n).as(ref.id() + " read").isPositive();
          String version = new String(scratch.get(SCRATCH + 0x2000, (int) n), StandardCharsets.UTF_8);
          assertThat(version).startsWith("Linux version " + ref.kernelBuild());
          assertThat(syscall(cpu, 3, fd)).isZero();
          System.out.printf("%s: /proc/version = %s", ref.id(), version);
        }
      }
    }
  }

  /** A system call from the current user context; returns RAX after the kernel returned to user mode. */
  private static long syscall(Cpu cpu, long nr, long... args) {
    int[] registers = {Reg.RDI, Reg.RSI, Reg.RDX, Reg.R10, Reg.R8, Reg.R9};
    cpu.state().set(Reg.RAX, nr);
    for (int i = 0; i < args.length; i++) {
      cpu.state().set(registers[i], args[i]);
    }
    cpu.enterSyscall();
    Stop stop = cpu.run(10_000_000);
    assertThat(stop.reason()).as("syscall " + nr + ": " + stop).isEqualTo(Stop.Reason.USER_RETURN);
    System.out.printf("  syscall %d: %,d instructions%n", nr, stop.instructions());
    return cpu.state().get(Reg.RAX);
  }

  private static String cString(ScratchWindow w, long address) {
    byte[] b = w.get(address, 65);
    int n = 0;
    while (n < b.length && b[n] != 0) {
      n++;
    }
    return new String(b, 0, n, StandardCharsets.UTF_8);
  }
}
