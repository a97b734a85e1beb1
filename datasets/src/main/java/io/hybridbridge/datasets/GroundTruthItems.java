package io.hybridbridge.datasets;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The items of one ground-truth capture as the guest printed them (hb-capture): each item is
 * {@code "@@HB-BEGIN <name>\n" + bytes + "\n@@HB-END <name>\n"}; the bytes are kept verbatim.
 */
final class GroundTruthItems {
  private static final String BEGIN = "@@HB-BEGIN ";
  private static final String END = "@@HB-END ";

  private GroundTruthItems() {}

  /** Item name to verbatim text, in the order printed. */
  static Map<String, String> parse(byte[] capture) throws DatasetException {
    String text = new String(capture, StandardCharsets.UTF_8);
    Map<String, String> items = new LinkedHashMap<>();
    int at = 0;
    while (true) {
      int begin = text.indexOf(BEGIN, at);
      if (begin < 0) {
        break;
      }
      if (begin != 0 && text.charAt(begin - 1) != '\n') {
        at = begin + BEGIN.length();
        continue;
      }
      int lineEnd = text.indexOf('\n', begin);
      if (lineEnd < 0) {
        throw new DatasetException("ground truth: item header without end of line at offset " + begin);
      }
      String name = text.substring(begin + BEGIN.length(), lineEnd);
      String endLine = "\n" + END + name + "\n";
      int end = text.indexOf(endLine, lineEnd);
      if (end < lineEnd) {
        throw new DatasetException("ground truth: item '" + name + "' has no end marker");
      }
      if (items.put(name, text.substring(lineEnd + 1, Math.max(lineEnd + 1, end))) != null) {
        throw new DatasetException("ground truth: item '" + name + "' printed twice");
      }
      at = end + endLine.length() - 1;
    }
    return items;
  }
}
