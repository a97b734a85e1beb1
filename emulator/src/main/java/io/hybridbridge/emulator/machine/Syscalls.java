package io.hybridbridge.emulator.machine;

import java.util.Map;

/** x86-64 Linux system-call numbers the machine's users make (arch/x86/entry/syscalls/syscall_64.tbl: ABI). */
public final class Syscalls {
  public static final int READ = 0, CLOSE = 3, GETPID = 39, UNAME = 63, GETDENTS64 = 217, CLOCK_GETTIME = 228,
      OPENAT = 257;

  /** openat(2) flags and the current-directory marker. */
  public static final long AT_FDCWD = -100, O_RDONLY = 0, O_DIRECTORY = 0x10000, O_CLOEXEC = 0x80000;

  private Syscalls() {}

  private static final String[] ERRNO_NAMES = {null, "EPERM", "ENOENT", "ESRCH", "EINTR", "EIO", "ENXIO", "E2BIG",
    "ENOEXEC", "EBADF", "ECHILD", "EAGAIN", "ENOMEM", "EACCES", "EFAULT", "ENOTBLK", "EBUSY", "EEXIST", "EXDEV",
    "ENODEV", "ENOTDIR", "EISDIR", "EINVAL", "ENFILE", "EMFILE", "ENOTTY", "ETXTBSY", "EFBIG", "ENOSPC", "ESPIPE",
    "EROFS", "EMLINK", "EPIPE", "EDOM", "ERANGE", "EDEADLK", "ENAMETOOLONG", "ENOLCK", "ENOSYS", "ENOTEMPTY",
    "ELOOP"};
  private static final Map<Integer, String> MORE_ERRNO_NAMES = Map.of(61, "ENODATA", 75, "EOVERFLOW",
      95, "EOPNOTSUPP", 110, "ETIMEDOUT", 512, "ERESTARTSYS", 513, "ERESTARTNOINTR", 516, "ERESTART_RESTARTBLOCK");

  /**
   * The name of errno {@code e} (asm-generic/errno-base.h, errno.h), e.g. {@code ENOENT}, or {@code errno 123}
   * for one not listed.
   */
  public static String errnoName(int e) {
    if (e > 0 && e < ERRNO_NAMES.length) {
      return ERRNO_NAMES[e];
    }
    return MORE_ERRNO_NAMES.getOrDefault(e, "errno " + e);
  }

  /** Whether a system call's RAX is a negated errno (-4095..-1), as the C library decides. */
  public static boolean isError(long rax) {
    return rax < 0 && rax >= -4095;
  }
}
