package io.hybridbridge.emulator.machine;

import io.hybridbridge.emulator.tools.DirentParser;
import io.hybridbridge.emulator.tools.KernelCalls;
import io.hybridbridge.emulator.tools.SystemParser;
import io.hybridbridge.emulator.tools.ToolException;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;

/**
 * {@link KernelCalls} over a {@link KernelMachine}: each method is the short sequence of real system calls a C
 * program would make, with the path in the scratch window and a 64 KiB buffer. A negated errno becomes a
 * {@link ToolException} naming the call, the path and the errno; a machine failure becomes a ToolException
 * whose cause is the {@link MachineException}.
 */
public final class SystemCalls implements KernelCalls {
  /** Far more than any /proc file the tools read (/proc/kallsyms ≈ 10 MB): beyond, the kernel is looping. */
  static final int MAX_FILE = 64 << 20;
  private static final int MAX_PATH = 4095;

  private final KernelMachine machine;

  SystemCalls(KernelMachine machine) {
    this.machine = machine;
  }

  @Override
  public byte[] readFile(String path) throws ToolException {
    long fd = open(path, Syscalls.O_RDONLY | Syscalls.O_CLOEXEC);
    ByteArrayOutputStream text = new ByteArrayOutputStream();
    try {
      while (true) {
        long n = call("read", path, Syscalls.READ, fd, KernelMachine.BUFFER, KernelMachine.BUFFER_SIZE);
        if (n == 0) {
          return text.toByteArray();
        }
        check(n, path);
        text.write(machine.scratch().get(KernelMachine.BUFFER, (int) n), 0, (int) n);
        if (text.size() > MAX_FILE) {
          throw new ToolException(path + ": more than " + MAX_FILE + " bytes; the kernel does not reach end of file");
        }
      }
    } finally {
      close(fd, path);
    }
  }

  @Override
  public List<DirentParser.Dirent> listDirectory(String path) throws ToolException {
    long fd = open(path, Syscalls.O_RDONLY | Syscalls.O_DIRECTORY | Syscalls.O_CLOEXEC);
    List<DirentParser.Dirent> entries = new ArrayList<>();
    try {
      while (true) {
        long n = call("getdents64", path, Syscalls.GETDENTS64, fd, KernelMachine.BUFFER, KernelMachine.BUFFER_SIZE);
        if (n == 0) {
          return entries;
        }
        check(n, path);
        entries.addAll(DirentParser.parse(machine.scratch().get(KernelMachine.BUFFER, (int) n), (int) n));
        if (entries.size() > MAX_FILE / 24) {
          throw new ToolException(path + ": the directory does not end");
        }
      }
    } finally {
      close(fd, path);
    }
  }

  @Override
  public byte[] uname() throws ToolException {
    call("uname", "", Syscalls.UNAME, KernelMachine.BUFFER);
    return machine.scratch().get(KernelMachine.BUFFER, SystemParser.UTSNAME_SIZE);
  }

  private long open(String path, long flags) throws ToolException {
    byte[] bytes = path.getBytes(java.nio.charset.StandardCharsets.UTF_8);
    if (bytes.length > MAX_PATH || path.indexOf('\0') >= 0) {
      throw new ToolException("not a path the kernel accepts: " + path);
    }
    machine.scratch().putString(KernelMachine.PATH, path);
    return call("openat", path, Syscalls.OPENAT, Syscalls.AT_FDCWD, KernelMachine.PATH, flags);
  }

  private void close(long fd, String path) throws ToolException {
    if (fd >= 0 && !machine.stoppedInKernel()) {
      call("close", path, Syscalls.CLOSE, fd);
    }
  }

  /** One system call; a negated errno is a ToolException. */
  private long call(String name, String path, int nr, long... args) throws ToolException {
    long rax;
    try {
      rax = machine.syscall(nr, args);
    } catch (MachineException e) {
      throw new ToolException(name + (path.isEmpty() ? "" : " " + path) + ": " + e.getMessage(), e);
    }
    if (Syscalls.isError(rax)) {
      throw new ToolException(name + (path.isEmpty() ? "" : " " + path) + ": " + Syscalls.errnoName((int) -rax));
    }
    return rax;
  }

  private static void check(long n, String path) throws ToolException {
    if (n < 0 || n > KernelMachine.BUFFER_SIZE) {
      throw new ToolException(path + ": the kernel returned " + n + " bytes for a " + KernelMachine.BUFFER_SIZE
          + "-byte buffer");
    }
  }
}
