package io.hybridbridge.datasets;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * How images are made, as a digest: the guest scripts, the agent, busybox, the QEMU CPU model, the guest's CPU
 * count, RAM, kernel arguments and workload modules. Stored as the "recipe" label of each manifest entry; an entry
 * made by another recipe is rebuilt, so a dataset never mixes guests that behave differently. A dataset of several
 * CPU counts has one recipe per count; an entry's count is the one whose recipe it bears.
 */
final class Recipe {
  private Recipe() {}

  static String of(BuildOptions options, byte[] busybox, int guestCpus) throws DatasetException {
    try {
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      for (String script : Initramfs.GUEST_FILES) {
        add(sha, script);
        sha.update(Initramfs.resource(script));
      }
      sha.update(AgentProgram.bytes());
      sha.update(busybox);
      add(sha, GuestVm.KERNEL_ARGUMENTS);
      add(sha, options.cpu());
      // One CPU adds nothing: the digest stays the one datasets made before --smp have.
      if (guestCpus != BuildOptions.DEFAULT_GUEST_CPUS) {
        add(sha, "smp " + guestCpus + " " + GuestVm.accelerator(guestCpus) + " " + GuestVm.kernelArguments(guestCpus));
      }
      add(sha, Integer.toString(options.memoryMiB()));
      add(sha, String.join(",", options.bootModules()));
      add(sha, String.join(",", options.stepModules()));
      if (options.extraProcesses() > 0) { // none adds nothing, as before the option
        add(sha, "extra processes " + options.extraProcesses());
      }
      if (options.busySockets()) {
        add(sha, "busy sockets");
      }
      return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
    }
  }

  private static void add(MessageDigest sha, String text) {
    sha.update(text.getBytes(StandardCharsets.UTF_8));
    sha.update((byte) 0);
  }
}
