package io.hybridbridge.emulator.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.decode.DecodeCache;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import java.nio.file.Files;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The CPU runs real system calls of each reference snapshot on itself, with no redirection and no hooks: the
 * kernel's own entry code (swapgs, stack switch, the PTI CR3 switch where enabled), then getpid, uname, the
 * reading of /proc files and getdents64 on /proc, up to sysretq; the answers equal the reference's ground
 * truth. A test of the CPU on real kernel paths, not of the syscall driver.
 */
@Tag("dataset")
class RealSyscallTest {
  @Test
  void systemCallsOnEveryReferenceAnswerLikeTheGuest() throws Exception {
    ReferenceStore store = ReferenceStore.open(ReferenceStore.defaultDatasetDirectory());
    assertThat(store.references()).isNotEmpty();
    for (ReferenceStore.Reference ref : store.references()) {
      try (ReferenceMachine m = new ReferenceMachine(ref, new DecodeCache(ref.kernelBuild()))) {
        String id = ref.id();
        Matcher agentPid = Pattern.compile("\"pid\"\\s*:\\s*(\\d+)")
            .matcher(Files.readString(ref.snapshot().resolveSibling("agent.json")));
        assertThat(agentPid.find()).isTrue();
        assertThat(m.syscall(39)).as(id + " getpid").isEqualTo(Long.parseLong(agentPid.group(1)));

        assertThat(m.syscall(63, ReferenceMachine.SCRATCH)).isZero(); // uname
        String[] fields = new String[5];
        for (int i = 0; i < 5; i++) {
          fields[i] = m.cString(ReferenceMachine.SCRATCH + 65L * i, 65);
        }
        assertThat(fields).as(id + " uname").containsExactly(m.truth("uname-s").strip(),
            m.truth("uname-n").strip(), m.truth("uname-r").strip(), m.truth("uname-v").strip(),
            m.truth("uname-m").strip());

        assertThat(m.readFile("/proc/version")).as(id).isEqualTo(m.truth("proc/version"));
        assertThat(m.readFile("/proc/1/stat")).as(id).startsWith("1 (init) S 0 ");
        assertThat(m.readFile("/proc/net/tcp")).as(id).isEqualTo(m.truth("proc/net/tcp"));

        // getdents64 on /proc: the pid directories are the guest's processes (minus transient ones)
        m.scratch.putString(ReferenceMachine.SCRATCH + 0x1000, "/proc");
        long fd = m.syscall(257, -100, ReferenceMachine.SCRATCH + 0x1000, 0x10000); // O_DIRECTORY
        assertThat(fd).isNotNegative();
        TreeSet<Long> pids = new TreeSet<>();
        long total = 0;
        for (long n; (n = m.syscall(217, fd, ReferenceMachine.SCRATCH + 0x2000, 0x8000)) > 0; ) {
          total += m.lastInstructions;
          byte[] buf = m.scratch.get(ReferenceMachine.SCRATCH + 0x2000, (int) n);
          for (int at = 0; at < n; ) {
            int reclen = (buf[at + 16] & 0xff) | (buf[at + 17] & 0xff) << 8;
            String name = m.cString(ReferenceMachine.SCRATCH + 0x2000 + at + 19, reclen - 19);
            if (name.matches("\\d+")) {
              pids.add(Long.parseLong(name));
            }
            at += reclen;
          }
        }
        m.syscall(3, fd);
        TreeSet<Long> expected = new TreeSet<>();
        for (String line : m.truth("ps").split("\n")) {
          if (line.strip().matches("\\d+ .*")) {
            expected.add(Long.parseLong(line.strip().split("\\s+")[0]));
          }
        }
        Matcher transientPid = Pattern.compile("\"pid\"\\s*:\\s*(\\d+)").matcher(
            Files.readString(ref.snapshot().resolveSibling("truth").resolve("transient.json")));
        while (transientPid.find()) {
          expected.remove(Long.parseLong(transientPid.group(1))); // the capture script, gone before the dump
        }
        long lastCaptured = expected.last();
        expected.add(Long.parseLong(agentPid.group(1)));
        assertThat(pids).as(id + " /proc pids").containsAll(expected);
        assertThat(pids.tailSet(lastCaptured, false)).as(id + ": pids not in the ground truth started after it")
            .containsAll(pids.stream().filter(p -> !expected.contains(p)).toList());
        System.out.printf("%s: getpid, uname, /proc/version, /proc/1/stat, /proc/net/tcp, getdents64 /proc "
            + "(%d pids, %,d instructions) agree with the guest%n", id, pids.size(), total);
      }
    }
  }
}
