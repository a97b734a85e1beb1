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
}
