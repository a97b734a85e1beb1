package io.hybridbridge.emulator.tools;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@link KernelCalls} answered by a ground-truth capture: the verbatim text the guest's own kernel printed just
 * before a dump ({@code items.json} of a dataset truth directory). Running a tool against it gives the rows the
 * guest itself would report, so the same tool script computes both the expected and the emulated answer.
 */
public final class CapturedKernel implements KernelCalls {
  private static final Pattern PID_ITEM = Pattern.compile("proc/(\\d+)/stat");

  private final Map<String, String> items;
  private final Set<Integer> excludedPids;

  private CapturedKernel(Map<String, String> items, Set<Integer> excludedPids) {
    this.items = items;
    this.excludedPids = excludedPids;
  }

  /**
   * Reads {@code truthDir/items.json}; the pids of {@code transient.json} (the capture script and its children,
   * gone by the time of the dump) are left out of the /proc listing.
   */
  public static CapturedKernel open(Path truthDir) throws IOException {
    ObjectMapper json = new ObjectMapper();
    Map<String, String> items = new HashMap<>();
    json.readTree(truthDir.resolve("items.json").toFile()).fields()
        .forEachRemaining(e -> items.put(e.getKey(), e.getValue().asText()));
    Set<Integer> excluded = new TreeSet<>();
    Path transients = truthDir.resolve("transient.json");
    if (transients.toFile().isFile()) {
      for (JsonNode p : json.readTree(transients.toFile()).path("processes")) {
        excluded.add(p.path("pid").asInt());
      }
    }
    return new CapturedKernel(items, excluded);
  }

  /** The pids left out as transient. */
  public Set<Integer> excludedPids() {
    return excludedPids;
  }

  @Override
  public byte[] readFile(String path) throws ToolException {
    String text = items.get(path.startsWith("/") ? path.substring(1) : path);
    if (text == null) {
      throw new ToolException("the capture has no item for " + path);
    }
    return text.getBytes(UTF_8);
  }

  @Override
  public List<DirentParser.Dirent> listDirectory(String path) throws ToolException {
    if (!path.equals("/proc")) {
      throw new ToolException("the capture lists only /proc, not " + path);
    }
    List<DirentParser.Dirent> entries = new ArrayList<>();
    for (String key : items.keySet()) {
      Matcher m = PID_ITEM.matcher(key);
      if (m.matches() && !excludedPids.contains(Integer.parseInt(m.group(1)))) {
        entries.add(new DirentParser.Dirent(0, 4, m.group(1)));
      }
    }
    return entries;
  }

  @Override
  public byte[] uname() throws ToolException {
    byte[] raw = new byte[SystemParser.UTSNAME_SIZE];
    String[] fields = {"uname-s", "uname-n", "uname-r", "uname-v", "uname-m", "proc/sys/kernel/domainname"};
    for (int i = 0; i < fields.length; i++) {
      byte[] value = new String(readFile(fields[i]), UTF_8).strip().getBytes(UTF_8);
      if (value.length >= SystemParser.UTS_FIELD) {
        throw new ToolException(fields[i] + " is longer than a utsname field");
      }
      System.arraycopy(value, 0, raw, i * SystemParser.UTS_FIELD, value.length);
    }
    return raw;
  }
}
