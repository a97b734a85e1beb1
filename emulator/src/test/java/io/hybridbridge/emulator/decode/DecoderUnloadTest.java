package io.hybridbridge.emulator.decode;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.jna.Native;
import java.lang.ref.WeakReference;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * A class loader that used decoders can be collected once they are closed, as a Flink TaskManager needs of each
 * job's class loader. Before decoders unbound libcapstone, JNA's registration of the binding (JNI global references to
 * its methods) and JNA's cleaner thread (waiting for the library and each decoder's buffer) kept the loader and all
 * its classes: a TaskManager's metaspace grew by ≈ 37 MB a job until the 6th job killed it. JNA's cleaner thread ends
 * 30 s after its last registration, so this test waits that long.
 */
class DecoderUnloadTest {
  private static final long COLLECTED_WITHIN_MILLIS = 60_000;

  @Test
  void aLoaderWhoseDecodersAreClosedIsCollected() throws Exception {
    WeakReference<ClassLoader> loader = decodeInOwnLoader();
    long deadline = System.currentTimeMillis() + COLLECTED_WITHIN_MILLIS;
    while (loader.get() != null && System.currentTimeMillis() < deadline) {
      System.gc();
      Thread.sleep(500);
    }
    assertThat(loader.get()).as("the decoders' class loader, %d s after they closed", COLLECTED_WITHIN_MILLIS / 1000)
        .isNull();
  }

  /**
   * Loads this module's classes and JNA anew, as a job's class loader does, and opens, uses and closes two decoders
   * one after the other (the second binds the library again) in a thread of its own, as a job's task thread. The
   * thread's context class loader stays the test's: a child process the JDK starts (JNA runs ldconfig) would give it
   * to the JDK's process reaper thread, which keeps it up to 60 s more.
   */
  private static WeakReference<ClassLoader> decodeInOwnLoader() throws Exception {
    URL[] classPath = {
      X86Decoder.class.getProtectionDomain().getCodeSource().getLocation(),
      Native.class.getProtectionDomain().getCodeSource().getLocation()
    };
    AtomicReference<Throwable> failure = new AtomicReference<>();
    AtomicReference<String> decoded = new AtomicReference<>();
    URLClassLoader jobLoader = new URLClassLoader(classPath, ClassLoader.getPlatformClassLoader());
    Thread task = new Thread(() -> {
      try {
        Class<?> decoder = jobLoader.loadClass(X86Decoder.class.getName());
        assertThat(decoder).isNotSameAs(X86Decoder.class);
        StringBuilder texts = new StringBuilder();
        for (int i = 0; i < 2; i++) {
          try (AutoCloseable d = (AutoCloseable) decoder.getMethod("open").invoke(null)) {
            Object insn = decoder.getMethod("decode", long.class, byte[].class, int.class, int.class)
                .invoke(d, 0x1000L, new byte[] {0x05, 0x01, 0x00, 0x00, 0x00}, 0, 5);
            texts.append(insn.getClass().getField("text").get(insn)).append(';');
          }
        }
        decoded.set(texts.toString());
      } catch (Throwable e) {
        failure.set(e);
      }
    });
    task.start();
    task.join();
    assertThat(failure.get()).isNull();
    assertThat(decoded.get()).isEqualTo("add eax, 1;add eax, 1;");
    jobLoader.close();
    return new WeakReference<>(jobLoader);
  }
}
