package io.hybridbridge.emulator.machine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.emulator.cpu.Stop;
import io.hybridbridge.emulator.kernel.DefaultDataset;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.tools.ToolException;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Broken situations on the real reference kernels end in clear, specific errors, and what the kernel itself
 * survives (faulting user copies, WARNs) is survived: a tiny budget, a missing path, bad user pointers (fixed up
 * through the kernel's exception table), a run of calls over the run's budget, a corrupt kernel pointer (an
 * unfixable kernel fault), a read that would sleep, the bug table's WARNs and BUGs, and runs that must not see each
 * other's state.
 */
@Tag("dataset")
class MachineFailuresTest {
  /** An address of the agent's user half that nothing maps (the agent maps 0x400000, its stack and vdso). */
  private static final long UNMAPPED_USER = 0x1000;

  @Test
  void failuresAreClearAndWhatTheKernelSurvivesIsSurvived() throws Exception {
    for (ReferenceStore.Reference ref : ReferenceGuest.references()) {
      try (KernelMachine m = KernelMachine.open(ref)) {
        String id = ref.id();

        // The budget: the error names the pc and its function.
        m.setBudget(500);
        assertThatThrownBy(() -> m.calls().readFile("/proc/version")).as(id).isInstanceOf(ToolException.class)
            .hasMessageContaining("openat /proc/version").hasMessageContaining("budget of 500")
            .hasMessageMatching("(?s).*pc 0x[0-9a-f]+ \\([a-zA-Z_0-9.]+\\+0x[0-9a-f]+\\).*")
            .cause().isInstanceOfSatisfying(MachineException.class, e -> {
              assertThat(e.reason()).isEqualTo(MachineException.Reason.BUDGET_EXHAUSTED);
              assertThat(e.pc()).isNegative(); // a kernel address
            });
        // After a stop inside the kernel, the machine wants a reset, then works again.
        assertThatThrownBy(() -> m.syscall(Syscalls.GETPID)).isInstanceOfSatisfying(MachineException.class,
            e -> assertThat(e).hasMessageContaining("reset()"));
        m.setBudget(KernelRealities.SYSCALL_BUDGET);
        m.reset();
        assertThat(m.syscall(Syscalls.GETPID)).isPositive();

        // The run's budget: calls each within their own budget stop once together they exceed it.
        m.reset();
        m.calls().readFile("/proc/version");
        long oneRead = m.instructions();
        m.reset();
        m.setRunBudget(oneRead * 3 / 2);
        m.calls().readFile("/proc/version");
        assertThatThrownBy(() -> m.calls().readFile("/proc/version")).as(id).isInstanceOf(ToolException.class)
            .hasMessageContaining("the run exceeded its budget of %,d instructions".formatted(oneRead * 3 / 2))
            .cause().isInstanceOfSatisfying(MachineException.class,
                e -> assertThat(e.reason()).isEqualTo(MachineException.Reason.BUDGET_EXHAUSTED));
        m.setRunBudget(KernelRealities.RUN_BUDGET);
        m.reset();
        assertThat(new String(m.calls().readFile("/proc/version"), java.nio.charset.StandardCharsets.US_ASCII)).as(id)
            .startsWith("Linux version");

        // errno: named, with the call and the path.
        assertThatThrownBy(() -> m.calls().readFile("/proc/no-such-file")).as(id)
            .isInstanceOf(ToolException.class).hasMessage("openat /proc/no-such-file: ENOENT").hasNoCause();
        assertThatThrownBy(() -> m.calls().listDirectory("/proc/version")).as(id)
            .hasMessage("openat /proc/version: ENOTDIR");

        // Bad user pointers: the kernel's user copies fault and its exception table turns that into EFAULT.
        m.reset();
        assertThat(m.syscall(Syscalls.OPENAT, Syscalls.AT_FDCWD, UNMAPPED_USER, 0)).as(id + " openat(bad path)")
            .isEqualTo(-14);
        m.scratch().putString(KernelMachine.PATH, "/proc/version");
        long fd = m.syscall(Syscalls.OPENAT, Syscalls.AT_FDCWD, KernelMachine.PATH, 0);
        assertThat(m.syscall(Syscalls.READ, fd, UNMAPPED_USER, 4096)).as(id + " read(bad buffer)").isEqualTo(-14);
        assertThat(m.syscall(Syscalls.UNAME, UNMAPPED_USER)).as(id + " uname(bad buffer)").isEqualTo(-14);

        // Runs do not see each other: a file left open in one run is not open in the next.
        assertThat(m.syscall(Syscalls.OPENAT, Syscalls.AT_FDCWD, KernelMachine.PATH, 0)).isEqualTo(fd + 1);
        m.reset();
        m.scratch().putString(KernelMachine.PATH, "/proc/version");
        assertThat(m.syscall(Syscalls.OPENAT, Syscalls.AT_FDCWD, KernelMachine.PATH, 0)).as(id + " fd after reset")
            .isEqualTo(fd);

        // Corrupt per-CPU data (the cache line where the kernel finds its current task: current_task in 6.1,
        // pcpu_hot from 6.2) is an unfixable kernel fault, named precisely.
        m.reset();
        String perCpuCurrent = m.profile().address("current_task").isPresent() ? "current_task" : "pcpu_hot";
        long line = m.cpu().state().kernelGsBase() + m.profile().address(perCpuCurrent).getAsLong();
        long nowhere = m.layout().vmallocBase() + m.layout().vmallocSize() - 0x100000;
        for (int i = 0; i < 64; i += 8) {
          m.memory().write(line + i, 8, nowhere);
        }
        assertThatThrownBy(() -> m.syscall(Syscalls.GETPID)).as(id).isInstanceOfSatisfying(MachineException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(MachineException.Reason.KERNEL_FAULT);
              assertThat(e.getMessage()).matches("(?s)system call 39: kernel fault at pc 0x[0-9a-f]+ \\([a-zA-Z_0-9.]+"
                  + "(\\+0x[0-9a-f]+)?\\), address 0x" + Long.toHexString(nowhere).substring(0, 8) + ".*");
            });
        m.reset();
        assertThat(m.syscall(Syscalls.GETPID)).as(id + " the corruption went with the run").isPositive();

        // A read of an empty pipe would sleep: schedule() stops the run.
        m.reset();
        assertThat(m.syscall(293, KernelMachine.BUFFER, 0)).as(id + " pipe2").isZero();
        long readEnd = m.scratchLong(KernelMachine.BUFFER) & 0xffffffffL;
        assertThatThrownBy(() -> m.syscall(Syscalls.READ, readEnd, KernelMachine.BUFFER, 1)).as(id)
            .isInstanceOfSatisfying(MachineException.class, e -> {
              assertThat(e.reason()).isEqualTo(MachineException.Reason.WOULD_SLEEP);
              assertThat(e.getMessage()).contains("schedule called from ");
            });

        // The bug table: a WARN's ud2 is noted and skipped, a BUG's stops with its source location.
        BugTable bugs = m.faults().bugs();
        assertThat(bugs.size()).as(id + " bug table entries").isGreaterThan(1000);
        Optional<BugTable.Bug> warning = Optional.empty();
        Optional<BugTable.Bug> bug = Optional.empty();
        for (int i = 0; i < bugs.size() && (warning.isEmpty() || bug.isEmpty()); i++) {
          BugTable.Bug b = bugs.find(bugs.address(i)).orElseThrow();
          assertThat(b.file()).as(id + " bug entry " + i).matches("[a-zA-Z0-9_./-]+\\.[ch]");
          if (b.warning() && warning.isEmpty()) {
            warning = Optional.of(b);
          } else if (!b.warning() && bug.isEmpty()) {
            bug = Optional.of(b);
          }
        }
        m.reset();
        m.cpu().state().setCpl(0);
        m.cpu().state().setRip(warning.orElseThrow().address());
        Stop afterWarning = m.cpu().run(1);
        assertThat(afterWarning.reason()).isEqualTo(Stop.Reason.BUDGET_EXHAUSTED);
        assertThat(afterWarning.pc()).as(id + " after a WARN").isEqualTo(warning.get().address() + 2);
        assertThat(m.notes()).singleElement().asString().startsWith("WARNING at " + warning.get().file() + ":");
        m.reset();
        m.cpu().state().setCpl(0);
        m.cpu().state().setRip(bug.orElseThrow().address());
        assertThat(m.cpu().run(1).reason()).isEqualTo(Stop.Reason.FAULT);
        MachineException died = m.faults().lastFailure(bug.get().address());
        assertThat(died.reason()).isEqualTo(MachineException.Reason.KERNEL_BUG);
        assertThat(died.getMessage()).startsWith("BUG at " + bug.get().file() + ":" + bug.get().line() + " (pc 0x");

        // The exception table: entries point into the image, types are the kernel's (1..21).
        ExceptionTable exceptions = m.faults().exceptions();
        TreeMap<Long, Integer> types = new TreeMap<>();
        long textStart = m.profile().address("_text").getAsLong() + m.layout().slide();
        long end = m.profile().address("_end").getAsLong() + m.layout().slide();
        for (int i = 0; i < exceptions.size(); i++) {
          long[] e = exceptions.entry(i);
          assertThat(e[0]).as(id + " ex_table insn").isBetween(textStart, end);
          assertThat(e[1]).as(id + " ex_table fixup").isBetween(textStart, end);
          types.merge(e[2] & 0xff, 1, Integer::sum);
        }
        assertThat(types.firstKey()).isPositive();
        assertThat(types.lastKey()).isLessThanOrEqualTo(21);
        assertThat(types).containsKeys((long) ExceptionTable.UACCESS, (long) ExceptionTable.DEFAULT);
        System.out.printf("%s: budget, errno, EFAULT fixups, kernel fault, sleep, WARN %s and BUG %s handled; "
            + "exception table %d entries by type %s%n", id, warning.get(), bug.get(), exceptions.size(), types);
      }
    }
  }

  @Test
  void aSnapshotThatIsNoReferenceIsRefusedAtOpen() throws Exception {
    ReferenceStore.Reference reference = ReferenceGuest.references().get(0);
    List<DefaultDataset.Entry> fleet = DefaultDataset.entries().stream()
        .filter(e -> e.role().equals("SNAPSHOT") && e.kernelBuild().equals(reference.kernelBuild())).toList();
    assertThat(fleet).isNotEmpty();
    for (DefaultDataset.Entry snapshot : fleet) {
      // a fleet snapshot with the reference's kallsyms: idle in the kernel, or another boot's layout
      ReferenceStore.Reference impostor = new ReferenceStore.Reference(snapshot.id(), reference.kernelBuild(),
          snapshot.path(), reference.kallsyms(), Optional.empty());
      assertThatThrownBy(() -> KernelMachine.open(impostor)).as(snapshot.id())
          .isInstanceOfSatisfying(MachineException.class, e -> {
            assertThat(e.reason()).isEqualTo(MachineException.Reason.SETUP);
            assertThat(e.getMessage()).startsWith(snapshot.id() + ": ")
                .containsAnyOf("is in kernel mode", "the profile is from another boot");
          });
    }
  }
}
