package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.machine.KernelMachine;
import io.hybridbridge.emulator.machine.MachineException;
import io.hybridbridge.emulator.machine.Syscalls;

/**
 * What the trusted kernel does, on T alone, before an inspection starts redirecting (DESIGN §5.2).
 *
 * <p><b>A fresh procfs over /proc.</b> T's dcache still holds the /proc/&lt;pid&gt; dentries of T's own processes
 * (the reference's ground-truth capture looked every one of them up). A lookup of /proc/1/stat during an inspection
 * would hit T's cached dentry and report T's init: measured, /proc/1/stat came back with T's start time and fault
 * counts. A new procfs instance has no cached entries: every /proc/&lt;pid&gt; of the inspection is then looked up
 * in U's pid namespace.
 *
 * <p><b>The agent's own entries.</b> /proc/net is the symlink self/net, and self is the agent's pid, which U does not
 * have. So /proc/net is resolved now, on T: the fresh instance caches the "net" symlink (its inode and link body are
 * T's) and the agent's /proc/&lt;pid&gt;/net, and /proc/net/tcp during the inspection reaches the agent's network
 * namespace (&amp;init_net, whose fields are U's). Resolving /proc/net itself, not only /proc/self/net, keeps the
 * path walk on T's strings: otherwise "net" is looked up in U's proc_root during the inspection, its link body
 * "self/net" is read from U, and link_path_walk, d_same_name and step_into read path names from U and from T in the
 * same call-site context (measured on 6.1: 8 of netstat's instructions whose decision no call-site context
 * separates; 1 after, dput reading dentry operations, which T and U hold alike). The price: a U process with the agent's pid would be shown with the agent's data, so {@link
 * SlowPath} refuses a /proc listing that contains it. Hence the datasets' references give the agent the highest pid
 * there is (4194303), which a VM's processes seldom reach.
 */
final class TrustedPreparation {
  private TrustedPreparation() {}

  /** mount(2): not among the machine's {@link Syscalls} (only the slow path mounts). */
  private static final int MOUNT = 165;
  private static final long SOURCE = KernelMachine.SCRATCH_BASE;
  private static final long TARGET = KernelMachine.SCRATCH_BASE + 0x100;
  private static final long NET = KernelMachine.SCRATCH_BASE + 0x200;

  /** Mounts a fresh procfs over /proc and resolves /proc/net (= self/net); returns the agent's pid. */
  static long prepare(KernelMachine machine) throws MachineException, SlowPathException {
    machine.scratch().putString(SOURCE, "proc");
    machine.scratch().putString(TARGET, "/proc");
    machine.scratch().putString(NET, "/proc/net");
    check("mount proc on /proc", machine.syscall(MOUNT, SOURCE, TARGET, SOURCE, 0, 0));
    long fd = check("open /proc/net", machine.syscall(Syscalls.OPENAT, Syscalls.AT_FDCWD, NET,
        Syscalls.O_RDONLY | Syscalls.O_DIRECTORY | Syscalls.O_CLOEXEC));
    check("close /proc/net", machine.syscall(Syscalls.CLOSE, fd));
    return check("getpid", machine.syscall(Syscalls.GETPID));
  }

  private static long check(String what, long rax) throws SlowPathException {
    if (Syscalls.isError(rax)) {
      throw new SlowPathException(SlowPathException.Reason.REFERENCE, "preparing the reference kernel: " + what
          + " failed with " + Syscalls.errnoName((int) -rax));
    }
    return rax;
  }
}
