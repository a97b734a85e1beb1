package io.hybridbridge.fastexec.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.taint.testing.TestDataset;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code hb bench pair} on a real snapshot: with a flag nothing reads, A and B are the same code, so their paired
 * ratio is near 1 and every inspection of both gave the slow path's rows; the flag is as it was afterwards.
 */
@Tag("dataset")
class BenchPairCommandTest {
  private static final String FLAG = "hb.test.benchPair";

  @Test
  void pairsTwoFastPathsOfTheSameCodeAtARatioNearOne() throws Exception {
    String build = TestDataset.snapshots().get(0).getKernelBuild();
    Result r = run("--references", TestDataset.directory().toString(), "--build", build, "--tool", "lsmod", "--flag",
        FLAG, "--warmup", "300", "--windows", "6", "--per", "20");
    assertThat(r.status).as(r.printed).isZero();
    Matcher m = Pattern.compile("A \\(false\\): ([\\d.]+) ms CPU, B \\(true\\): ([\\d.]+) ms CPU .*; B/A ([\\d.]+) "
        + "\\(quartiles ([\\d.]+)-([\\d.]+)\\)").matcher(r.printed);
    assertThat(m.find()).as(r.printed).isTrue();
    assertThat(Double.parseDouble(m.group(1))).isPositive();
    assertThat(Double.parseDouble(m.group(2))).isPositive();
    double ratio = Double.parseDouble(m.group(3));
    assertThat(ratio).as(r.printed).isBetween(0.5, 2.0);
    assertThat(Double.parseDouble(m.group(4))).isLessThanOrEqualTo(ratio);
    assertThat(Double.parseDouble(m.group(5))).isGreaterThanOrEqualTo(ratio);
    assertThat(r.printed).contains(build + " lsmod").contains("flag " + FLAG);
    assertThat(System.getProperty(FLAG)).isNull();
  }

  /**
   * {@code --tools-first}: both paths inspect every tool first, as one fast path of {@code hb bench paths} or of a
   * scan does, each inspection checked against the slow path's rows (exit 1 at the first that differs).
   */
  @Test
  void inspectsEveryToolFirstWhenAsked() throws Exception {
    String build = TestDataset.snapshots().get(0).getKernelBuild();
    Result r = run("--references", TestDataset.directory().toString(), "--build", build, "--tool", "netstat",
        "--tools-first", "2", "--warmup", "10", "--windows", "2", "--per", "5");
    assertThat(r.status).as(r.printed).isZero();
    assertThat(r.printed).contains(build + " netstat")
        .contains("2 inspections of each path on each tool first, then 10 inspections of each path");
  }

  @Test
  void refusesAnUnknownBuildMoreThanOneToolAndNegativeCounts() throws Exception {
    String dir = TestDataset.directory().toString();
    assertThat(run("--references", dir, "--build", "no-such-build").status).isEqualTo(2);
    assertThat(run("--references", dir, "--tool", "ps,lsmod").status).isEqualTo(2);
    assertThat(run("--references", dir, "--tools-first", "-1").status).isEqualTo(2);
  }

  private record Result(int status, String printed) {}

  private static Result run(String... args) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = System.out;
    System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    try {
      int status = new CommandLine(new BenchPairCommand()).execute(args);
      return new Result(status, bytes.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
    }
  }
}
