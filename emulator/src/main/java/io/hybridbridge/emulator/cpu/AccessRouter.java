package io.hybridbridge.emulator.cpu;

/**
 * Chooses, for every data access, which address space serves it: the hook the slow path (taint decides) and
 * the fast path (memoized table decides) use to redirect reads of kernel state to the untrusted snapshot.
 * Code fetches are never routed: code always comes from the local space.
 */
@FunctionalInterface
public interface AccessRouter {
  /**
   * @return an index into the CPU's address spaces: 0 is the local one, others as registered with
   *     {@link Cpu#addAddressSpace}
   */
  int route(MemoryAccess access);

  /**
   * Called after {@link #route} for an access of a translated block: the index of the space that serves every later
   * access of this instruction and operand in this run, if that does not depend on the address, the call site or
   * anything else (then later accesses there are served without asking; the CPU counts them: {@link
   * Cpu#boundAccesses}); -1 (the default) to keep deciding each one. Bindings end when the router is replaced.
   */
  default int bind(MemoryAccess access) {
    return -1;
  }
}
