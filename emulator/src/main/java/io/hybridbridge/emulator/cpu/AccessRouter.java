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
   * Called after {@link #route} for an access of a translated block, or for the first iteration of a rep-prefixed
   * string instruction: the index of the space that serves every later access of this instruction and operand in this
   * run (of the string instruction: in this execution of it), if that does not depend on the address, the call site
   * or anything else (then later accesses there are served without asking, nor counted: a limit on a run is the
   * machine's instruction budget); -1 (the default) to keep deciding each one. Bindings end when the router is
   * replaced, unless its {@link #bindingScope} keeps them.
   */
  default int bind(MemoryAccess access) {
    return -1;
  }

  /**
   * A {@code call} whose stack access the router bound ({@link #bind}) pushed {@code returnAddress} at {@code slot}:
   * the router is not asked about that access, and learns of the call here (a router that follows the call stack,
   * as the fast path's call-site contexts do, binds calls and returns only if it implements this and {@link
   * #returned}).
   */
  default void called(long returnAddress, long slot) {
  }

  /** A {@code ret} whose stack access the router bound ({@link #bind}) popped {@code slot}. */
  default void returned(long slot) {
  }

  /**
   * Routers with the same non-null scope bind sites to the local space (0) alike, so those bindings outlive the router
   * and serve the next router of its scope (the fast path's routers of one decision table: a site's local decision
   * holds for every inspection); bindings to other spaces end with the router that made them. Null, the default:
   * every binding ends with the router.
   */
  default Object bindingScope() {
    return null;
  }
}
