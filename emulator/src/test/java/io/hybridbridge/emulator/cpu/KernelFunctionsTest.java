package io.hybridbridge.emulator.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.cpu.unicorn.Unicorn;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.zip.CRC32;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Real kernel code: functions of every dataset build's own vmlinux (vsnprintf and its helpers, string and
 * number parsing, crc32) called on our CPU and on Unicorn from the same state must leave the same registers
 * and memory, and compute what the C library says they compute.
 */
@Tag("dataset")
class KernelFunctionsTest {
  record Case(String function, String description, Consumer<KernelSandbox.Outcome> check, long[] args,
      KernelSandbox.Scratch scratch) {}

  static List<Case> cases() {
    List<Case> cases = new ArrayList<>();
    {
      KernelSandbox.Scratch s = new KernelSandbox.Scratch();
      long buf = s.address(0x1000);
      long fmt = s.string(0x100, "pid %d comm %s state %c vsize %lu\n");
      long comm = s.string(0x200, "kworker/0:1");
      cases.add(new Case("snprintf", "a /proc-like line", o -> {
        assertThat(o.scratch().cString(buf)).isEqualTo("pid 1234 comm kworker/0:1 state S vsize 123456789\n");
        assertThat(o.registers()[0]).isEqualTo(50);
      }, new long[] {buf, 256, fmt, 1234, comm, 'S', 123456789}, s));
    }
    {
      KernelSandbox.Scratch s = new KernelSandbox.Scratch();
      long buf = s.address(0x1000);
      long fmt = s.string(0x100, "%08x %-10s|%5d %lld %llx %llu %hhd %zu %%");
      long ab = s.string(0x200, "ab");
      cases.add(new Case("snprintf", "widths, signs, lengths and stack arguments", o -> assertThat(
          o.scratch().cString(buf)).isEqualTo(
              "0000beef ab        |  -42 -1234567890123 deadbeefcafe 18446744073709551615 -1 42 %"),
          new long[] {buf, 256, fmt, 0xbeef, ab, -42, -1234567890123L, 0xdeadbeefcafeL, -1L, 0x1ff, 42}, s));
    }
    {
      KernelSandbox.Scratch s = new KernelSandbox.Scratch();
      long buf = s.address(0x1000);
      long fmt = s.string(0x100, "%s");
      long text = s.string(0x200, "a long string that is truncated");
      cases.add(new Case("snprintf", "truncation", o -> {
        assertThat(o.scratch().cString(buf)).isEqualTo("a long st");
        assertThat(o.registers()[0]).isEqualTo(31);
      }, new long[] {buf, 10, fmt, text}, s));
    }
    {
      KernelSandbox.Scratch s = new KernelSandbox.Scratch();
      long text = s.string(0x200, "kworker/0:1");
      cases.add(new Case("strlen", "strlen", o -> assertThat(o.registers()[0]).isEqualTo(11), new long[] {text},
          s));
    }
    {
      KernelSandbox.Scratch s = new KernelSandbox.Scratch();
      long a = s.string(0x200, "abcdef");
      long b = s.string(0x300, "abcdxf");
      cases.add(new Case("strcmp", "strcmp", o -> assertThat((int) o.registers()[0]).isNegative(),
          new long[] {a, b}, s));
      cases.add(new Case("memcmp", "memcmp", o -> assertThat((int) o.registers()[0]).isNegative(),
          new long[] {a, b, 6}, s));
    }
    for (String[] t : new String[][] {{"12345", "10", "0", "12345"}, {"0x1f", "0", "0", "31"},
        {"777\n", "8", "0", "511"}, {"abc", "10", "-22", "0"}}) {
      KernelSandbox.Scratch s = new KernelSandbox.Scratch();
      long text = s.string(0x200, t[0]);
      long result = s.address(0x2000);
      cases.add(new Case("kstrtoull", "kstrtoull " + t[0].strip(), o -> {
        assertThat((int) o.registers()[0]).isEqualTo(Integer.parseInt(t[2]));
        assertThat(o.scratch().getLong(result)).isEqualTo(Long.parseLong(t[3]));
      }, new long[] {text, Long.parseLong(t[1]), result}, s));
    }
    {
      KernelSandbox.Scratch s = new KernelSandbox.Scratch();
      byte[] data = new byte[1000];
      new java.util.Random(4).nextBytes(data);
      long at = s.data(0x3000, data);
      CRC32 crc = new CRC32();
      crc.update(data);
      cases.add(new Case("crc32_le", "crc32_le", o -> assertThat(~o.registers()[0] & 0xffffffffL)
          .isEqualTo(crc.getValue()), new long[] {0xffffffffL, at, data.length}, s));
    }
    {
      KernelSandbox.Scratch s = new KernelSandbox.Scratch();
      long buf = s.address(0x1000);
      cases.add(new Case("num_to_str", "num_to_str", o -> {
        assertThat(o.registers()[0]).isEqualTo(9);
        assertThat(o.scratch().cString(buf)).startsWith("987654321");
      }, new long[] {buf, 32, 987654321, 0}, s));
    }
    return cases;
  }

  @Test
  void realKernelFunctionsAgreeWithUnicornAndWithTheirSpecification() throws Exception {
    List<String> builds = KernelImage.builds(KernelImage.dataset());
    assertThat(builds).isNotEmpty();
    for (String build : builds) {
      KernelSandbox sandbox = new KernelSandbox(KernelImage.load(KernelImage.dataset(), build));
      try (Unicorn uc = sandbox.unicorn()) {
        for (Case c : cases()) {
          String what = build + " " + c.description();
          KernelSandbox.Outcome ours = sandbox.callOurs(c.function(), c.scratch(), c.args());
          assertThat(ours.stop().reason()).as(what + ": " + ours.stop()).isEqualTo(Stop.Reason.HOOK);
          KernelSandbox.Outcome theirs = sandbox.callUnicorn(uc, c.function(), c.scratch(), c.args());
          assertThat(theirs.stop()).as(what).isNull();
          assertThat(ours.registers()).as(what + ": registers").isEqualTo(theirs.registers());
          assertThat(ours.scratch().bytes).as(what + ": memory").isEqualTo(theirs.scratch().bytes);
          c.check().accept(ours);
          System.out.printf("%s: %,d instructions%n", what, ours.stop().instructions());
        }
      }
    }
  }
}
