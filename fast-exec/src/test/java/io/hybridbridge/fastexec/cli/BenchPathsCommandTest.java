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
 * {@code hb bench paths} on a real snapshot: a row per tool, the fast path interpreting faster than the slow one
 * (translated, it needs tens of seconds of the JIT to be faster still: not waited for here).
 */
@Tag("dataset")
class BenchPathsCommandTest {
  @Test
  void measuresThePathsOnARealSnapshotAndTheFastOneIsFaster() throws Exception {
    String build = TestDataset.snapshots().get(0).getKernelBuild();
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    PrintStream out = System.out;
    int status;
    System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
    try {
      status = new CommandLine(new BenchPathsCommand()).execute("--references", TestDataset.directory().toString(),
          "--build", build, "--tool", "lsmod", "--runs", "3", "--warmups", "20", "--warmup-limit", "4");
    } finally {
      System.setOut(out);
    }
    String printed = bytes.toString(StandardCharsets.UTF_8);
    assertThat(status).as(printed).isZero();
    // build, tool, snapshot, instructions | open ms | slow ms, fast ms, ratio | slow cpu, fast cpu, ratio |
    // interp cpu, ratio | ...
    Matcher row = Pattern.compile("(?m)^" + Pattern.quote(build) + "\\s+lsmod\\s+\\S+\\s+([\\d,]+) \\|\\s+[\\d.]+ \\|"
        + "\\s+[\\d.]+\\s+[\\d.]+\\s+[\\d.]+x \\|\\s+([\\d.]+)\\s+([\\d.]+)\\s+[\\d.]+x \\|\\s+([\\d.]+)\\s+([\\d.]+)x")
        .matcher(printed);
    assertThat(row.find()).as(printed).isTrue();
    assertThat(Long.parseLong(row.group(1).replace(",", ""))).isGreaterThan(10_000);
    double slowCpu = Double.parseDouble(row.group(2));
    assertThat(Double.parseDouble(row.group(3))).isPositive();
    assertThat(Double.parseDouble(row.group(4))).as(printed).isLessThan(slowCpu);
    assertThat(Double.parseDouble(row.group(5))).as(printed).isGreaterThan(1.0);
  }
}
