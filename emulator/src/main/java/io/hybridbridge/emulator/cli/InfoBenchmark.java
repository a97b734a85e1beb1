package io.hybridbridge.emulator.cli;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import picocli.CommandLine;

/**
 * How long {@code hb info} takes: for each snapshot, {@code runs} fresh JVMs run the info command; prints the median
 * wall time of the whole process, of a JVM that does nothing (start-up), and the command's own time.
 *
 * <pre>java -cp &lt;runtime classpath&gt; io.hybridbridge.emulator.cli.InfoBenchmark [--runs N] SNAPSHOT...</pre>
 */
public final class InfoBenchmark {
  private InfoBenchmark() {}

  public static void main(String[] args) throws Exception {
    if (args.length > 0 && args[0].equals("--child-noop")) {
      return;
    }
    if (args.length > 1 && args[0].equals("--child-info")) {
      long start = System.nanoTime();
      new CommandLine(new InfoCommand()).execute(args[1], "--json");
      System.err.println("INFO-NANOS " + (System.nanoTime() - start));
      return;
    }
    int runs = 7;
    List<String> snapshots = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--runs")) {
        runs = Integer.parseInt(args[++i]);
      } else {
        snapshots.add(args[i]);
      }
    }
    List<Double> startup = new ArrayList<>();
    for (int r = 0; r < runs; r++) {
      startup.add(run(List.of("--child-noop"))[0]);
    }
    System.out.printf("JVM start-up (no work): median %.0f ms over %d runs%n", median(startup), runs);
    for (String snapshot : snapshots) {
      List<Double> whole = new ArrayList<>();
      List<Double> command = new ArrayList<>();
      for (int r = 0; r < runs; r++) {
        double[] t = run(List.of("--child-info", snapshot));
        whole.add(t[0]);
        command.add(t[1]);
      }
      System.out.printf("%s (%.0f MB): whole process median %.0f ms, minus JVM start-up %.0f ms, "
              + "info command alone median %.0f ms (min %.0f)%n", Path.of(snapshot).getFileName(),
          Path.of(snapshot).toFile().length() / 1e6, median(whole), median(whole) - median(startup), median(command),
          Collections.min(command));
    }
  }

  /** Runs this class in a fresh JVM: {wall ms, command ms reported by the child (0 if none)}. */
  private static double[] run(List<String> args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), InfoBenchmark.class.getName()));
    cmd.addAll(args);
    long start = System.nanoTime();
    Process p = new ProcessBuilder(cmd).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
    String err = new String(p.getErrorStream().readAllBytes());
    p.waitFor();
    double wall = (System.nanoTime() - start) / 1e6;
    double command = 0;
    for (String line : err.split("\n")) {
      if (line.startsWith("INFO-NANOS ")) {
        command = Long.parseLong(line.substring(11).trim()) / 1e6;
      }
    }
    return new double[] {wall, command};
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }
}
