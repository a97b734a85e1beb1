package io.hybridbridge.emulator.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.hybridbridge.emulator.kernel.DefaultDataset;
import io.hybridbridge.schemas.ModuleRow;
import io.hybridbridge.schemas.MountRow;
import io.hybridbridge.schemas.ProcessRow;
import io.hybridbridge.schemas.SocketRow;
import io.hybridbridge.schemas.SystemRow;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Every tool's script and parser, run on the text each guest's kernel printed before each dump of the default
 * dataset, agree with the datasets module's independent parse of the same capture (truth.json) and see the
 * workload the guests run.
 */
@Tag("dataset")
class CapturedKernelTest {
  @Test
  void toolsAgreeWithTheGroundTruthOfEveryCapture() throws Exception {
    int checked = 0;
    for (DefaultDataset.Entry entry : DefaultDataset.entries()) {
      if (entry.groundTruth().isEmpty()) {
        continue;
      }
      CapturedKernel kernel = CapturedKernel.open(entry.groundTruth().get());
      RowContext context = new RowContext(entry.id(), null, entry.kernelBuild());
      JsonNode truth = entry.truth();
      String what = entry.id();

      @SuppressWarnings("unchecked")
      List<ProcessRow> processes = (List<ProcessRow>) Tools.PS.run(kernel, context);
      Set<Integer> expectedPids = new TreeSet<>();
      truth.path("processes").forEach(p -> expectedPids.add(p.path("pid").asInt()));
      expectedPids.removeAll(kernel.excludedPids());
      Set<Integer> pids = processes.stream().map(ProcessRow::getPid).collect(Collectors.toCollection(TreeSet::new));
      assertThat(pids).as("%s pids", what).isEqualTo(expectedPids);
      for (ProcessRow p : processes) {
        JsonNode t = find(truth.path("processes"), "pid", Integer.toString(p.getPid()));
        assertThat(p.getPpid()).as("%s ppid of %d", what, p.getPid()).isEqualTo(t.path("ppid").asInt());
        assertThat(p.getComm()).as("%s comm of %d", what, p.getPid()).isEqualTo(t.path("comm").asText());
        assertThat(p.getUid()).isEqualTo(t.path("uid").asInt());
        assertThat(p.getRssPages()).isEqualTo(t.path("rssPages").asLong());
        List<String> args = new ArrayList<>();
        t.path("cmdline").forEach(a -> args.add(a.asText()));
        assertThat(p.getCmdline()).as("%s cmdline of %d", what, p.getPid()).isEqualTo(String.join(" ", args));
      }
      assertThat(processes).as("%s has a kernel thread and the init script", what)
          .anyMatch(p -> p.getComm().equals("kthreadd")).anyMatch(p -> p.getCmdline().equals("/bin/sh /init"));

      @SuppressWarnings("unchecked")
      List<ModuleRow> modules = (List<ModuleRow>) Tools.LSMOD.run(kernel, context);
      assertThat(modules).extracting(ModuleRow::getName).as("%s modules", what)
          .containsExactlyElementsOf(texts(truth.path("modules"), "name"));
      boolean fleet = entry.role().equals("SNAPSHOT"); // the workload runs on fleet boots, not on references
      if (fleet) {
        assertThat(modules).as("%s has a module used by another", what).anyMatch(m -> !m.getUsedBy().isEmpty());
      }

      @SuppressWarnings("unchecked")
      List<SocketRow> sockets = (List<SocketRow>) Tools.NETSTAT.run(kernel, context);
      List<Long> expectedInodes = new ArrayList<>();
      truth.path("inetSockets").forEach(s -> expectedInodes.add(s.path("inode").asLong()));
      truth.path("unixSockets").forEach(s -> expectedInodes.add(s.path("inode").asLong()));
      assertThat(sockets).extracting(SocketRow::getInode).as("%s socket inodes", what)
          .containsExactlyInAnyOrderElementsOf(expectedInodes);
      if (fleet) {
        assertThat(sockets).as("%s listens on 8080", what).anyMatch(
            s -> s.getProto().startsWith("tcp") && s.getState().equals("LISTEN") && s.getLocalPort() == 8080);
        assertThat(sockets).as("%s has /dev/log", what).anyMatch(s -> "/dev/log".equals(s.getUnixPath()));
      }

      SystemRow system = (SystemRow) Tools.SYSTEM.run(kernel, context).get(0);
      assertThat(system.getRelease()).isEqualTo(truth.path("uname").path("release").asText())
          .isEqualTo(entry.kernelBuild());
      assertThat(system.getProcVersion()).isEqualTo(truth.path("version").asText().strip());
      assertThat(system.getUptimeSeconds()).isEqualTo(truth.path("uptime").path("seconds").asDouble());

      @SuppressWarnings("unchecked")
      List<MountRow> mounts = (List<MountRow>) Tools.MOUNT.run(kernel, context);
      assertThat(mounts).extracting(MountRow::getMountpoint).as("%s mounts", what)
          .containsExactlyElementsOf(texts(truth.path("mounts"), "mountPoint"));
      if (fleet) {
        assertThat(mounts).as("%s has a tmpfs", what).anyMatch(m -> m.getFstype().equals("tmpfs"));
      }
      checked++;
    }
    assertThat(checked).as("captures checked").isGreaterThanOrEqualTo(12);
  }

  private static JsonNode find(JsonNode array, String field, String value) {
    for (JsonNode n : array) {
      if (n.path(field).asText().equals(value)) {
        return n;
      }
    }
    throw new AssertionError("no element with " + field + "=" + value);
  }

  private static List<String> texts(JsonNode array, String field) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.path(field).asText()));
    return out;
  }
}
