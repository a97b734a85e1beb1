package io.hybridbridge.datasets;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code hb datasets kernels}: the valid kernel build names. */
@Command(name = "kernels", mixinStandardHelpOptions = true,
    description = "List the Debian kernel build names 'datasets build --kernels' accepts (bookworm, -updates, "
        + "-security and -backports, through the private apt configuration in $HB_CACHE/packages/apt).")
final class KernelsCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    try {
      for (KernelBuildName build : new AptPackages(HbCache.packages(), new Progress(System.err)).kernelBuilds()) {
        System.out.println(build);
      }
      return 0;
    } catch (DatasetException e) {
      System.err.println("hb datasets kernels: " + e.getMessage());
      return 1;
    }
  }
}
