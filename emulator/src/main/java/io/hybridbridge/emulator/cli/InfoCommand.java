package io.hybridbridge.emulator.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import io.hybridbridge.emulator.kernel.GuestKernel;
import io.hybridbridge.emulator.kernel.KernelAnalysisException;
import io.hybridbridge.emulator.kernel.KernelLayout;
import io.hybridbridge.emulator.kernel.ReferenceNotFoundException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.snapshot.CpuState;
import io.hybridbridge.emulator.snapshot.SegmentRegister;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.SnapshotFormatException;
import io.hybridbridge.emulator.snapshot.Snapshots;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hb info SNAPSHOT}: what a snapshot is and which kernel it holds, without symbols. */
@Command(name = "info", mixinStandardHelpOptions = true,
    description = "Show a snapshot's format, physical memory, CPU state, KASLR layout and kernel build identity.")
public final class InfoCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "SNAPSHOT", description = "ELF core, kdump-compressed, LiME or raw image.")
  Path snapshotPath;

  @Option(names = "--json", description = "Print one JSON object instead of text.")
  boolean json;

  @Option(names = "--dataset", paramLabel = "DIR",
      description = "Dataset whose references are looked up (default: ${DEFAULT-VALUE}).")
  Path dataset = ReferenceStore.defaultDatasetDirectory();

  @Override
  public Integer call() throws IOException {
    long started = System.nanoTime();
    Map<String, Object> info = new LinkedHashMap<>();
    int status = 0;
    try (Snapshot snapshot = Snapshots.open(snapshotPath)) {
      describe(snapshot, info);
      try {
        KernelLayout layout = KernelLayout.find(snapshot);
        describe(layout, info);
        describe(GuestKernel.of(snapshot, layout), info);
      } catch (KernelAnalysisException e) {
        info.put("error", e.getMessage());
        status = 2;
      }
    } catch (SnapshotFormatException e) {
      info.put("snapshot", snapshotPath.toString());
      info.put("error", e.reason() + ": " + e.getMessage());
      status = 2;
    } catch (IOException e) {
      info.put("snapshot", snapshotPath.toString());
      info.put("error", "cannot read: " + e);
      status = 2;
    }
    info.put("elapsedMillis", (System.nanoTime() - started) / 1_000_000);
    print(info, System.out);
    return status;
  }

  private static void describe(Snapshot snapshot, Map<String, Object> info) {
    info.put("snapshot", snapshot.name());
    info.put("format", snapshot.format().toString());
    info.put("sizeBytes", snapshot.sizeBytes());
    info.put("physicalBytes", snapshot.physicalBytes());
    info.put("physicalRanges", snapshot.ranges().stream().map(Object::toString).toList());
    snapshot.vmcoreinfo().ifPresent(v -> info.put("vmcoreinfoBytes", v.length()));
    List<Map<String, Object>> cpus = new ArrayList<>();
    for (CpuState cpu : snapshot.cpus()) {
      Map<String, Object> c = new LinkedHashMap<>();
      c.put("cpu", cpu.index());
      c.put("source", cpu.origin().toString());
      c.put("mode", cpu.userMode() ? "user" : "kernel");
      cpu.generalRegisters().forEach((name, value) -> c.put(name, hex(value)));
      for (Map.Entry<String, SegmentRegister> s : cpu.segments().entrySet()) {
        c.put(s.getKey(), String.format("%#x base %s", s.getValue().selector(), hex(s.getValue().base())));
      }
      if (cpu.hasControlRegisters()) {
        c.put("cr0", hex(cpu.cr0()));
        c.put("cr2", hex(cpu.cr2()));
        c.put("cr3", hex(cpu.cr3()));
        c.put("cr4", hex(cpu.cr4()));
        c.put("kernelGsBase", hex(cpu.kernelGsBase()));
      }
      c.put("perCpuBase", hex(cpu.perCpuBase()));
      cpus.add(c);
    }
    info.put("cpus", cpus);
  }

  private static void describe(KernelLayout l, Map<String, Object> info) {
    Map<String, Object> layout = new LinkedHashMap<>();
    layout.put("pagingLevels", l.pagingLevels());
    layout.put("pageTableRoot", hex(l.pageTableRoot()));
    layout.put("text", hex(l.textBase()));
    layout.put("slide", hex(l.slide()));
    layout.put("physicalLoadAddress", hex(l.physicalLoadAddress()));
    layout.put("imageSize", hex(l.imageSize()));
    layout.put("pageOffsetBase", hex(l.pageOffsetBase()));
    layout.put("vmallocBase", hex(l.vmallocBase()));
    layout.put("vmemmapBase", hex(l.vmemmapBase()));
    layout.put("perCpuBases", l.perCpuBases().stream().map(InfoCommand::hex).toList());
    info.put("layout", layout);
  }

  private void describe(GuestKernel kernel, Map<String, Object> info) {
    info.put("banner", kernel.identity().banner());
    info.put("buildId", kernel.identity().buildId());
    info.put("build", kernel.identity().buildName());
    info.put("dataset", dataset.toString());
    try {
      info.put("reference", ReferenceStore.open(dataset).require(kernel).id());
      info.put("referenceAvailable", true);
    } catch (ReferenceNotFoundException e) {
      info.put("referenceAvailable", false);
      info.put("referenceProblem", e.getMessage());
    } catch (IOException | KernelAnalysisException e) {
      info.put("referenceAvailable", "unknown: " + e.getMessage());
    }
  }

  private void print(Map<String, Object> info, PrintStream out) throws IOException {
    if (json) {
      // Streaming (jackson-core) rather than ObjectMapper: databind's start-up is a third of a second.
      try (JsonGenerator g = new JsonFactory().createGenerator(out).useDefaultPrettyPrinter()) {
        g.configure(JsonGenerator.Feature.AUTO_CLOSE_TARGET, false);
        write(g, info);
      }
      out.println();
      return;
    }
    print(info, out, "");
  }

  private static void write(JsonGenerator g, Object value) throws IOException {
    if (value instanceof Map<?, ?> map) {
      g.writeStartObject();
      for (Map.Entry<?, ?> e : map.entrySet()) {
        g.writeFieldName(e.getKey().toString());
        write(g, e.getValue());
      }
      g.writeEndObject();
    } else if (value instanceof List<?> list) {
      g.writeStartArray();
      for (Object item : list) {
        write(g, item);
      }
      g.writeEndArray();
    } else if (value instanceof Number n) {
      g.writeNumber(n.longValue());
    } else if (value instanceof Boolean b) {
      g.writeBoolean(b);
    } else {
      g.writeString(String.valueOf(value));
    }
  }

  @SuppressWarnings("unchecked")
  private static void print(Map<String, Object> map, PrintStream out, String indent) {
    for (Map.Entry<String, Object> e : map.entrySet()) {
      Object v = e.getValue();
      if (v instanceof Map) {
        out.println(indent + e.getKey() + ":");
        print((Map<String, Object>) v, out, indent + "  ");
      } else if (v instanceof List<?> list && !list.isEmpty() && list.get(0) instanceof Map) {
        for (Object item : list) {
          out.println(indent + e.getKey() + ":");
          print((Map<String, Object>) item, out, indent + "  ");
        }
      } else {
        out.println(indent + e.getKey() + ": " + v);
      }
    }
  }

  private static String hex(long value) {
    return String.format("%#x", value);
  }
}
