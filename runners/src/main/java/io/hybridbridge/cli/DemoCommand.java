package io.hybridbridge.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** {@code hb demo}: the main job on the embedded default. */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Run the main job on the embedded default: make the default dataset if missing and report it.")
public final class DemoCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    System.err.println("not yet");
    return 1;
  }
}
