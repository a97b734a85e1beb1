package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.hybridbridge.schemas.ManifestEntry;
import io.hybridbridge.schemas.SnapshotFormat;
import io.hybridbridge.schemas.SnapshotRole;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Assertions shared by the dataset tests: an entry's files are there and are what the manifest says. */
final class DatasetChecks {
  static final ObjectMapper JSON = new ObjectMapper();

  private DatasetChecks() {}

  static void imageMatchesManifest(Path dataset, ManifestEntry e, boolean checkSha) throws Exception {
    Path image = dataset.resolve(e.getPath());
    assertThat(image).isRegularFile();
    assertThat(Files.size(image)).isEqualTo(e.getSizeBytes());
    assertThat(SnapshotFiles.detectFormat(image)).isEqualTo(e.getFormat());
    if (checkSha) {
      assertThat(SnapshotFiles.sha256(image)).as("sha256 of %s", image).isEqualTo(e.getSha256());
    }
    Path truth = dataset.resolve(e.getGroundTruthPath());
    for (String file : List.of("raw.txt", "items.json", "truth.json", "transient.json")) {
      assertThat(truth.resolve(file)).isRegularFile();
    }
    assertThat(truth(dataset, e).path("bootId").asText()).isEqualTo(e.getBootId());
  }

  static JsonNode truth(Path dataset, ManifestEntry e) throws IOException {
    return JSON.readTree(dataset.resolve(e.getGroundTruthPath()).resolve("truth.json").toFile()).path("truth");
  }

  /** The reference: ELF, CPU in user mode inside the agent, per the recorded registers and the dump's note. */
  static void referenceIsInUserModeInTheAgent(Path dataset, ManifestEntry reference) throws Exception {
    assertThat(reference.getRole()).isEqualTo(SnapshotRole.REFERENCE);
    assertThat(reference.getFormat()).isEqualTo(SnapshotFormat.ELF);
    JsonNode agent = JSON.readTree(dataset.resolve(reference.getLabels().get("agentPath")).toFile());
    long start = parseHex(agent.path("executableStart").asText());
    long end = parseHex(agent.path("executableEnd").asText());
    long rip = parseHex(agent.path("registers").path("rip").asText());
    int cs = Integer.decode(agent.path("registers").path("cs").asText());
    assertThat(cs & 3).as("CS RPL").isEqualTo(3);
    assertThat(rip).isBetween(start, end - 1);
    assertThat(agent.path("pid").asInt()).isEqualTo(Integer.parseInt(reference.getLabels().get("agentPid")));
    List<SnapshotFiles.NotedCpu> noted = SnapshotFiles.qemuNotes(dataset.resolve(reference.getPath()));
    assertThat(noted).hasSize(1);
    assertThat(noted.get(0).userMode()).isTrue();
    assertThat(noted.get(0).rip()).isEqualTo(rip);
    Path kallsyms = dataset.resolve(reference.getKallsymsPath());
    assertThat(Files.size(kallsyms)).isGreaterThan(1_000_000);
    // real addresses (kptr_restrict=0), not zeros
    assertThat(Files.readString(kallsyms)).containsPattern("(?m)^ffffffff[0-9a-f]{8} T _stext$");
  }

  /**
   * The layout the guest printed agrees with the dump: the kernel variables page_offset_base, vmalloc_base and
   * vmemmap_base (found through kallsyms-layout and the physical load address) hold the bases derived from
   * /proc/kcore.
   */
  static void layoutMatchesTheDump(Path dataset, ManifestEntry elfSnapshot) throws Exception {
    JsonNode layout = truth(dataset, elfSnapshot).path("layout");
    long text = parseHex(layout.path("kernelTextVirtual").asText());
    long physical = parseHex(layout.path("kernelCodePhysical").asText());
    assertThat(layout.path("symbols").path("_text").asText()).isEqualTo(layout.path("kernelTextVirtual").asText());
    Path image = dataset.resolve(elfSnapshot.getPath());
    for (String[] pair : new String[][] {{"page_offset_base", "pageOffsetBase"}, {"vmalloc_base", "vmallocBase"},
        {"vmemmap_base", "vmemmapBase"}}) {
      long address = parseHex(layout.path("symbols").path(pair[0]).asText());
      assertThat(readPhysical64(image, address - text + physical)).as(pair[0])
          .isEqualTo(parseHex(layout.path(pair[1]).asText()));
    }
  }

  private static long readPhysical64(Path elfDump, long physical) throws Exception {
    try (java.io.RandomAccessFile in = new java.io.RandomAccessFile(elfDump.toFile(), "r")) {
      byte[] head = new byte[1 << 16];
      in.readFully(head);
      for (Elf64.ProgramHeader ph : Elf64.parse(head).programHeaders()) {
        if (ph.type() == Elf64.PT_LOAD && physical >= ph.paddr() && physical + 8 <= ph.paddr() + ph.fileSize()) {
          in.seek(ph.offset() + physical - ph.paddr());
          return Long.reverseBytes(in.readLong());
        }
      }
    }
    throw new AssertionError("physical address " + Long.toHexString(physical) + " is not in " + elfDump);
  }

  /** "0x…" as written in the dataset's JSON, up to 64 unsigned bits. */
  static long parseHex(String text) {
    if (!text.startsWith("0x")) {
      throw new AssertionError("not a 0x hex string: " + text);
    }
    return Long.parseUnsignedLong(text.substring(2), 16);
  }
}
