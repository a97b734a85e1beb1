package io.hybridbridge.emulator.memory;

/**
 * Guest-virtual to guest-physical translation for one address space (one page-table root).
 *
 * <p>Implemented by the page-table walker over a {@link PhysicalMemory}; used by the emulator's software TLB.
 */
@FunctionalInterface
public interface AddressTranslator {
  /** Access kinds, for permission checks (NX, writable, user). */
  enum Access { READ, WRITE, EXECUTE }

  /**
   * Translates {@code virtualAddress}.
   *
   * @return the guest-physical address
   * @throws PageFaultException when the walk finds a non-present entry or a permission violation
   */
  long toPhysical(long virtualAddress, Access access) throws PageFaultException;
}
