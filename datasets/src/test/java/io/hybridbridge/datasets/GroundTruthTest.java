package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Parsing a real capture: what a 6.1.0-53-cloud-amd64 guest printed before its second dump of a boot. */
class GroundTruthTest {
  private static final String CAPTURE = "capture-6.1.0-53-cloud-amd64-step2.txt";
  private static byte[] raw;
  private static Map<String, String> items;
  private static GroundTruth truth;

  @BeforeAll
  static void parse() throws IOException, DatasetException {
    try (InputStream in = GroundTruthTest.class.getResourceAsStream(CAPTURE)) {
      raw = in.readAllBytes();
    }
    // raw.txt keeps the capture's own begin/end lines around the items
    items = GroundTruthItems.parse(raw);
    truth = GroundTruth.parse("boot1/dump2", items);
  }

  @Test
  void itemsAreVerbatim() {
    assertThat(items).containsKeys("ps", "proc/modules", "proc/net/tcp", "proc/net/unix", "uname-a",
        "proc/uptime", "proc/1/mounts", "kcore-header", "kallsyms-layout", "proc/1/stat", "proc/1/cmdline");
    assertThat(items.get("uname-r")).isEqualTo("6.1.0-53-cloud-amd64\n");
    // cmdline keeps its NUL separators
    assertThat(items.get("proc/1/cmdline")).isEqualTo("/bin/sh\0/init\0");
    String text = new String(raw, StandardCharsets.UTF_8);
    assertThat(text).contains("@@HB-BEGIN proc/modules\n" + items.get("proc/modules") + "\n@@HB-END proc/modules\n");
  }

  @Test
  void processesJoinPsAndProc() {
    GroundTruth.Process sleep1001 = process("sleep", List.of("sleep", "1001"));
    assertThat(sleep1001.ppid()).isEqualTo(1);
    assertThat(sleep1001.state()).isEqualTo("S");
    assertThat(sleep1001.uid()).isZero();
    assertThat(sleep1001.ps().args()).isEqualTo("sleep 1001");
    GroundTruth.Process worker = process("hb-worker", List.of("/bin/sh", "/bin/hb-worker"));
    GroundTruth.Process child = process("sleep", List.of("sleep", "2001"));
    assertThat(child.ppid()).isEqualTo(worker.pid());
    // step 2 stopped sleep 1002 and started sleep 5002
    assertThat(truth.processes()).noneMatch(p -> List.of("sleep", "1002").equals(p.cmdline()));
    process("sleep", List.of("sleep", "5002"));
    GroundTruth.Process kthreadd = truth.processes().stream().filter(p -> p.pid() == 2).findFirst().orElseThrow();
    assertThat(kthreadd.comm()).isEqualTo("kthreadd");
    assertThat(kthreadd.cmdline()).isEmpty();
  }

  @Test
  void modulesWithTheirDependency() {
    assertThat(truth.modules()).extracting(GroundTruth.Module::name)
        .contains("cdrom", "isofs", "fat", "vfat", "dummy", "nls_cp437");
    GroundTruth.Module cdrom = truth.modules().stream().filter(m -> m.name().equals("cdrom")).findFirst()
        .orElseThrow();
    assertThat(cdrom.usedBy()).containsExactly("isofs");
    assertThat(cdrom.refcount()).isEqualTo(1);
    assertThat(cdrom.state()).isEqualTo("Live");
    assertThat(cdrom.address()).startsWith("0xffffffffc");
  }

  @Test
  void socketsOfEveryKind() {
    assertThat(truth.inetSockets()).anyMatch(s -> s.localPort() == 8080 && "LISTEN".equals(s.stateName()));
    assertThat(truth.inetSockets()).anyMatch(s -> s.localPort() == 1234 && "LISTEN".equals(s.stateName()));
    assertThat(truth.inetSockets()).anyMatch(s -> s.localPort() == 1242 && "LISTEN".equals(s.stateName()));
    GroundTruth.InetSocket client = truth.inetSockets().stream()
        .filter(s -> s.remotePort() == 1234 && "ESTABLISHED".equals(s.stateName())).findFirst().orElseThrow();
    assertThat(client.localAddress()).isEqualTo("127.0.0.1");
    assertThat(truth.inetSockets()).anyMatch(s -> s.localPort() == 1234 && s.remotePort() == client.localPort()
        && "ESTABLISHED".equals(s.stateName()));
    assertThat(truth.inetSockets()).anyMatch(s -> s.proto().equals("udp") && s.localPort() == 67);
    GroundTruth.Process syslogd = process("syslogd", List.of("syslogd", "-R", "127.0.0.1:514", "-L"));
    assertThat(truth.inetSockets()).anyMatch(s -> s.proto().equals("udp") && syslogd.socketInodes()
        .contains(s.inode()));
    assertThat(truth.unixSockets()).anyMatch(s -> "/dev/log".equals(s.path()) && s.type() == 2);
  }

  @Test
  void systemFacts() {
    assertThat(truth.uname().release()).isEqualTo("6.1.0-53-cloud-amd64");
    assertThat(truth.uname().nodename()).isEqualTo("hb-guest");
    assertThat(truth.uname().all()).startsWith("Linux hb-guest 6.1.0-53-cloud-amd64 #1 SMP");
    assertThat(truth.version()).startsWith("Linux version 6.1.0-53-cloud-amd64");
    assertThat(truth.uptime().seconds()).isPositive();
    assertThat(truth.bootId()).matches("[0-9a-f-]{36}");
    assertThat(truth.mounts()).anyMatch(m -> m.mountPoint().equals("/mnt/scratch") && m.fsType().equals("tmpfs"));
  }

  @Test
  void layoutFromKallsymsKcoreAndIomem() {
    GroundTruth.Layout layout = truth.layout();
    assertThat(layout.symbols()).containsKeys("_text", "_stext", "linux_banner", "init_task", "page_offset_base",
        "vmalloc_base", "vmemmap_base", "entry_SYSCALL_64");
    assertThat(layout.kernelTextVirtual()).isEqualTo(layout.symbols().get("_text"));
    assertThat(layout.kernelCodePhysical()).isEqualTo("0x4a00000");
    assertThat(layout.pageOffsetBase()).isEqualTo("0xffff8df780000000");
    assertThat(layout.vmallocBase()).isEqualTo("0xffffcf5440000000");
    assertThat(layout.vmemmapBase()).isEqualTo("0xfffffb2d80000000");
    // the kernel text segment of kcore: virtual _text at the physical "Kernel code" address
    assertThat(layout.kcoreLoads()).anyMatch(l -> l.vaddr().equals(layout.kernelTextVirtual())
        && layout.kernelCodePhysical().equals(l.paddr()));
  }

  @Test
  void transientEntriesAreTheCaptureAndItsChildren() {
    TransientEntries transients = TransientEntries.of(truth);
    assertThat(transients.contains(truth.capturePid())).isTrue();
    GroundTruth.Process capture = truth.processes().stream().filter(p -> p.pid() == truth.capturePid())
        .findFirst().orElseThrow();
    assertThat(capture.comm()).isEqualTo("hb-capture");
    for (GroundTruth.Process p : truth.processes()) {
      if (p.ppid() != null && p.ppid() == truth.capturePid()) {
        assertThat(transients.contains(p.pid())).as("child %d", p.pid()).isTrue();
      }
    }
    assertThat(transients.contains(1)).isFalse();
  }

  @Test
  void missingItemIsAClearError() {
    Map<String, String> partial = new java.util.LinkedHashMap<>(items);
    partial.remove("proc/modules");
    assertThatThrownBy(() -> GroundTruth.parse("x", partial)).isInstanceOf(DatasetException.class)
        .hasMessageContaining("proc/modules");
  }

  @Test
  void malformedItemIsAClearError() {
    Map<String, String> broken = new java.util.LinkedHashMap<>(items);
    broken.put("proc/uptime", "not numbers\n");
    assertThatThrownBy(() -> GroundTruth.parse("x", broken)).isInstanceOf(DatasetException.class)
        .hasMessageContaining("uptime");
  }

  @Test
  void addressesInHostOrder() throws DatasetException {
    assertThat(GroundTruth.address("0100007F")).isEqualTo("127.0.0.1");
    assertThat(GroundTruth.address("0000000000000000FFFF00000100007F")).isEqualTo("127.0.0.1");
    assertThat(GroundTruth.address("00000000000000000000000001000000")).isEqualTo("0:0:0:0:0:0:0:1");
  }

  private static GroundTruth.Process process(String comm, List<String> cmdline) {
    return truth.processes().stream().filter(p -> comm.equals(p.comm()) && cmdline.equals(p.cmdline()))
        .findFirst().orElseThrow(() -> new AssertionError("no process " + cmdline));
  }
}
