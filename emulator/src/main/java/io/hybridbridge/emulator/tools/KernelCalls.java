package io.hybridbridge.emulator.tools;

import java.util.List;

/**
 * The system calls an inspection tool makes, as the tool sees them. Implemented by the syscall driver over the
 * emulated trusted kernel (slow or fast path): each method is a short, fixed sequence of real system calls whose
 * answer the kernel formats itself.
 */
public interface KernelCalls {
  /** {@code openat(AT_FDCWD, path, O_RDONLY)}, {@code read} until end of file, {@code close}. */
  byte[] readFile(String path) throws ToolException;

  /** {@code openat(..., O_RDONLY|O_DIRECTORY)}, {@code getdents64} until it returns 0, {@code close}. */
  List<DirentParser.Dirent> listDirectory(String path) throws ToolException;

  /** {@code uname(2)}: the raw {@code struct new_utsname}. */
  byte[] uname() throws ToolException;
}
