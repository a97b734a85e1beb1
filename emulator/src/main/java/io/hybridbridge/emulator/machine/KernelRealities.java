package io.hybridbridge.emulator.machine;

import io.hybridbridge.emulator.cpu.Cpu;
import io.hybridbridge.emulator.cpu.CpuState;
import io.hybridbridge.emulator.cpu.Fault;
import io.hybridbridge.emulator.cpu.FaultHandler;
import io.hybridbridge.emulator.cpu.Msr;
import io.hybridbridge.emulator.cpu.PcHook;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import java.util.List;
import java.util.Optional;

/**
 * What running a frozen kernel needs beyond instruction semantics (DESIGN §5.4), declared in this one place,
 * each with its reason. The machine applies it; nothing else in the code makes such decisions.
 *
 * <ul>
 *   <li>{@link #SYSCALL_BUDGET}: the instruction budget of one system call; {@link #RUN_BUDGET}: of a whole run.
 *   <li>{@link #HOOKS}: functions that cannot run as they would on a live machine, by symbol.
 *   <li>Faults ({@link Faults}): page faults and #GP through the kernel's own exception table, ud2 through its
 *       bug table; everything else stops the run naming the pc and its function.
 *   <li>MSRs as Linux programs them for the syscall instruction ({@link #programMsrs}); {@code cpuid} answers
 *       the CPU package's fixed model ({@link io.hybridbridge.emulator.cpu.Cpuid#DEFAULT}); no interrupt is
 *       ever delivered (the CPU has no interrupt source), so nothing preempts a system call.
 *   <li>The time-stamp counter: {@link SnapshotClock}, derived from the snapshot's own timekeeping.
 * </ul>
 */
public final class KernelRealities {
  private KernelRealities() {}

  /**
   * Instructions one system call may execute. The largest call of the tools (a read of /proc/net/tcp walking
   * every hash bucket) takes ≈ 70 k; all of /proc/kallsyms in one read ≈ 10 M. 50 M is a few seconds of
   * emulation: enough for any legitimate call, and a runaway loop (a corrupt list in a snapshot) ends quickly.
   */
  public static final long SYSCALL_BUDGET = 50_000_000;

  /**
   * Instructions one run may execute, from its reset or restore: every system call of a tool, and T's preparation
   * when the run started from its checkpoint. The largest measured inspection (ps on 65 processes) takes ≈ 5 M. A
   * list that never ends in a corrupt snapshot can keep every call within {@link #SYSCALL_BUDGET} (each read
   * returning one page of a process list that goes round) and would otherwise run for hours; 250 M stops it within
   * seconds of emulation. Counting instructions, which the CPU does anyway, costs a fast path nothing per access.
   */
  public static final long RUN_BUDGET = 250_000_000;

  /** What a hooked function does instead of running. */
  public enum Action {
    /** Return at once, registers untouched (void functions, and thunks that preserve every register). */
    RETURN,
    /** Return 0 at once. */
    RETURN_ZERO,
    /** Return 1 (true) at once. */
    RETURN_ONE,
    /** Return the first argument at once (functions that return the object they were given on success). */
    RETURN_FIRST_ARGUMENT,
    /** Stop the run: the kernel would sleep, and nothing would ever wake it. */
    STOP_SLEEP,
    /** Stop the run: the kernel is dying. */
    STOP_DEATH,
    /** Return 0 at once and note the message (printk: the log buffer and consoles are not emulated). */
    NOTE_PRINTK,
  }

  /** A function the machine does not run: by symbol, what it does instead, and why. */
  public record FunctionHook(String symbol, Action action, String reason) {}

  private static final String FROZEN_LOCK = "the snapshot is frozen, possibly while another task held this lock; "
      + "no other task runs here to release it, so the slow path (spin or sleep) succeeds at once";
  private static final String SLEEP = "the kernel would wait for an event; no other task, interrupt or timer "
      + "runs here to cause it";
  private static final String NOTHING_TO_SWITCH_TO = "a preemption point: the agent's system call is the only "
      + "thing running, there is nothing to switch to";

  /** The function hooks. Symbols a build does not have are skipped (listed by {@link KernelMachine#hooksMissing}). */
  public static final List<FunctionHook> HOOKS = List.of(
      new FunctionHook("native_queued_spin_lock_slowpath", Action.RETURN, FROZEN_LOCK),
      new FunctionHook("__pv_queued_spin_lock_slowpath", Action.RETURN, FROZEN_LOCK),
      new FunctionHook("queued_read_lock_slowpath", Action.RETURN, FROZEN_LOCK),
      new FunctionHook("queued_write_lock_slowpath", Action.RETURN, FROZEN_LOCK),
      new FunctionHook("__mutex_lock_slowpath", Action.RETURN, FROZEN_LOCK),
      new FunctionHook("__mutex_lock_killable_slowpath", Action.RETURN_ZERO, FROZEN_LOCK + " (0: acquired)"),
      new FunctionHook("__mutex_lock_interruptible_slowpath", Action.RETURN_ZERO, FROZEN_LOCK + " (0: acquired)"),
      new FunctionHook("rwsem_down_read_slowpath", Action.RETURN_FIRST_ARGUMENT,
          FROZEN_LOCK + " (returns the semaphore: acquired)"),
      new FunctionHook("rwsem_down_write_slowpath", Action.RETURN_FIRST_ARGUMENT,
          FROZEN_LOCK + " (returns the semaphore: acquired)"),
      new FunctionHook("__percpu_down_read", Action.RETURN_ONE, FROZEN_LOCK + " (true: acquired)"),
      new FunctionHook("__down", Action.RETURN, FROZEN_LOCK + " (semaphore)"),
      new FunctionHook("__down_common", Action.RETURN_ZERO, FROZEN_LOCK + " (semaphore; 0: acquired)"),
      new FunctionHook("preempt_schedule", Action.RETURN, NOTHING_TO_SWITCH_TO),
      new FunctionHook("preempt_schedule_notrace", Action.RETURN, NOTHING_TO_SWITCH_TO),
      new FunctionHook("preempt_schedule_thunk", Action.RETURN, NOTHING_TO_SWITCH_TO),
      new FunctionHook("preempt_schedule_notrace_thunk", Action.RETURN, NOTHING_TO_SWITCH_TO),
      new FunctionHook("__cond_resched", Action.RETURN_ZERO, NOTHING_TO_SWITCH_TO + " (0: did not reschedule)"),
      new FunctionHook("__cond_resched_lock", Action.RETURN_ZERO,
          NOTHING_TO_SWITCH_TO + " (0: kept the lock, did not reschedule)"),
      new FunctionHook("schedule", Action.STOP_SLEEP, SLEEP),
      new FunctionHook("schedule_timeout", Action.STOP_SLEEP, SLEEP),
      new FunctionHook("io_schedule", Action.STOP_SLEEP, SLEEP),
      new FunctionHook("schedule_preempt_disabled", Action.STOP_SLEEP, SLEEP),
      new FunctionHook("__schedule", Action.STOP_SLEEP, SLEEP + " (any other way into the scheduler)"),
      new FunctionHook("msleep", Action.STOP_SLEEP, SLEEP),
      new FunctionHook("do_nanosleep", Action.STOP_SLEEP, SLEEP),
      new FunctionHook("wait_for_completion", Action.STOP_SLEEP, SLEEP),
      new FunctionHook("vprintk_emit", Action.NOTE_PRINTK, "the log buffer and the consoles behind it (serial "
          + "port I/O) are not emulated; the format string is kept as a warning of the run"),
      new FunctionHook("panic", Action.STOP_DEATH, "the kernel panicked"),
      new FunctionHook("oops_begin", Action.STOP_DEATH, "the kernel is reporting an oops"),
      new FunctionHook("do_exit", Action.STOP_DEATH, "the kernel is killing the agent"));

  /**
   * The MSRs Linux programs for the syscall instruction ({@code syscall_init} in arch/x86/kernel/cpu/common.c):
   * LSTAR = entry_SYSCALL_64 (runtime address), STAR = user CS base 0x23 and kernel CS 0x10, FMASK clears
   * TF DF IF IOPL NT AC on entry, EFER = SCE | LME | LMA | NXE. GS/KERNEL_GS bases come from the dump.
   */
  static void programMsrs(CpuState state, long entrySyscall64) {
    state.setMsr(Msr.LSTAR, entrySyscall64);
    state.setMsr(Msr.STAR, 0x0023_0010_0000_0000L);
    state.setMsr(Msr.FMASK, 0x47700);
    state.setMsr(Msr.EFER, 0xd01);
    state.setMsr(Msr.TSC_AUX, 0); // rdpid / rdtscp: CPU 0, node 0
  }

  /**
   * The hook a {@link FunctionHook} becomes; notes go to {@code notes}. Every action but a stop stands in for the
   * function ({@link PcHook#standsIn}): a translated call runs it in place.
   */
  static PcHook pcHook(FunctionHook hook, KernelMachine machine) {
    return switch (hook.action()) {
      case RETURN -> PcHook.standIn(cpu -> cpu.returnFromFunction(cpu.state().get(Reg.RAX)));
      case RETURN_ZERO -> PcHook.standIn(cpu -> cpu.returnFromFunction(0));
      case RETURN_ONE -> PcHook.standIn(cpu -> cpu.returnFromFunction(1));
      case RETURN_FIRST_ARGUMENT -> PcHook.standIn(cpu -> cpu.returnFromFunction(cpu.state().get(Reg.RDI)));
      case NOTE_PRINTK -> PcHook.standIn(cpu -> {
        // int vprintk_emit(int facility, int level, const struct dev_printk_info *, const char *fmt, va_list)
        CpuState s = cpu.state();
        long caller = cpu.memory().read(s.get(Reg.RSP), 8);
        String format = machine.cString(s.get(Reg.RCX), 200).replaceAll("\u0001.", ""); // KERN_<level> prefixes
        machine.note("printk from " + machine.locate(caller) + ": " + format.strip());
        cpu.returnFromFunction(0);
      });
      case STOP_SLEEP, STOP_DEATH -> cpu -> {
        long caller = cpu.memory().read(cpu.state().get(Reg.RSP), 8);
        return PcHook.Result.stop(hook.symbol() + " called from " + machine.locate(caller) + ": " + hook.reason());
      };
    };
  }

  /**
   * The fault handler: a kernel-mode page fault or #GP at an instruction the exception table covers is fixed up
   * as the kernel would; a ud2 the bug table marks as a WARN is noted and skipped; everything else stops the
   * run, and {@link #lastFailure} says why.
   */
  static final class Faults implements FaultHandler {
    private final KernelMachine machine;
    private final ExceptionTable exceptions;
    private final BugTable bugs;
    private String lastFailure;
    private MachineException.Reason lastReason;

    Faults(KernelMachine machine, ExceptionTable exceptions, BugTable bugs) {
      this.machine = machine;
      this.exceptions = exceptions;
      this.bugs = bugs;
    }

    @Override
    public Action handle(Cpu cpu, Fault fault) {
      try {
        if (cpu.state().cpl() != 0) {
          return fail(MachineException.Reason.UNEXPECTED_STOP, fault.name() + " in user mode at pc 0x%x"
              .formatted(fault.pc()));
        }
        if (fault.vector() == Fault.PF || fault.vector() == Fault.GP) {
          String why = exceptions.fixup(cpu, fault);
          if (why == null) {
            return Action.RESUME;
          }
          String where = "kernel fault at pc 0x%x (%s)".formatted(fault.pc(), machine.locate(fault.pc()));
          return fail(MachineException.Reason.KERNEL_FAULT, fault.vector() == Fault.PF
              ? where + ", address 0x%x: %s, %s".formatted(fault.address(), fault.description(), why)
              : where + ": " + fault.name() + " " + fault.description() + ", " + why);
        }
        if (fault.vector() == Fault.UD) {
          Optional<BugTable.Bug> bug = bugs.find(fault.pc());
          if (bug.isPresent() && bug.get().warning()) {
            machine.note(bug.get() + " (" + machine.locate(fault.pc()) + ")");
            cpu.state().setRip(fault.pc() + 2); // the kernel's handle_bug skips the ud2 after a WARN
            return Action.RESUME;
          }
          return fail(MachineException.Reason.KERNEL_BUG, bug.map(b -> b + " (pc 0x%x, %s)".formatted(fault.pc(),
              machine.locate(fault.pc()))).orElse("invalid opcode at pc 0x%x (%s): %s".formatted(fault.pc(),
              machine.locate(fault.pc()), fault.description())));
        }
        return fail(MachineException.Reason.KERNEL_FAULT, "kernel exception %s at pc 0x%x (%s): %s".formatted(
            fault.name(), fault.pc(), machine.locate(fault.pc()), fault.description()));
      } catch (MemoryAccessException e) {
        return fail(MachineException.Reason.MEMORY_ERROR, "handling " + fault + ": " + e.getMessage());
      }
    }

    private Action fail(MachineException.Reason reason, String message) {
      lastReason = reason;
      lastFailure = message;
      return Action.STOP;
    }

    /** Why the last fault stopped the run (consumed). */
    MachineException lastFailure(long pc) {
      MachineException e = new MachineException(lastReason, pc, lastFailure);
      lastFailure = null;
      return e;
    }

    boolean hasFailure() {
      return lastFailure != null;
    }

    ExceptionTable exceptions() {
      return exceptions;
    }

    BugTable bugs() {
      return bugs;
    }
  }
}
