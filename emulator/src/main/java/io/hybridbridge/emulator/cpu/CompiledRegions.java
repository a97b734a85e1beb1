package io.hybridbridge.emulator.cpu;

/**
 * Class files of translated regions kept beyond one JVM, by the key {@link BlockTranslator} gives a region (a hash of
 * its source and of what it links to): a worker that finds a region's class here does not compile it again. The
 * classes run in the JVM that finds them, so whatever keeps them must be as trusted as this code.
 */
public interface CompiledRegions {
  /** Nothing kept: every region is compiled. */
  CompiledRegions NONE = new CompiledRegions() {
    @Override
    public byte[] find(String key) {
      return null;
    }

    @Override
    public void keep(String key, byte[] classFile) {}
  };

  /** The class file kept under {@code key}, or null. */
  byte[] find(String key);

  /** Keeps {@code classFile} under {@code key}; a failure to keep it loses nothing but the time to compile it again. */
  void keep(String key, byte[] classFile);
}
