package io.hybridbridge.datasets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

class GroundTruthItemsTest {
  private static Map<String, String> parse(String text) throws DatasetException {
    return GroundTruthItems.parse(text.getBytes(StandardCharsets.UTF_8));
  }

  @Test
  void keepsContentExactlyIncludingTrailingNewlinesAndEmptyItems() throws DatasetException {
    Map<String, String> items = parse("@@HB-BEGIN a\nline\n\n@@HB-END a\n"
        + "@@HB-BEGIN b\nno newline\n@@HB-END b\n"
        + "@@HB-BEGIN empty\n\n@@HB-END empty\n"
        + "@@HB-BEGIN nul\nx\0y\0\n@@HB-END nul\n");
    assertThat(items).containsExactly(Map.entry("a", "line\n"), Map.entry("b", "no newline"),
        Map.entry("empty", ""), Map.entry("nul", "x\0y\0"));
  }

  @Test
  void contentMayMentionOtherMarkersMidLine() throws DatasetException {
    assertThat(parse("@@HB-BEGIN a\nsee @@HB-BEGIN b here\n@@HB-END a\n")).containsExactly(
        Map.entry("a", "see @@HB-BEGIN b here"));
  }

  @Test
  void unterminatedItemIsAnError() {
    assertThatThrownBy(() -> parse("@@HB-BEGIN a\ntext\n")).isInstanceOf(DatasetException.class)
        .hasMessageContaining("'a' has no end marker");
  }

  @Test
  void repeatedItemIsAnError() {
    assertThatThrownBy(() -> parse("@@HB-BEGIN a\n1\n@@HB-END a\n@@HB-BEGIN a\n2\n@@HB-END a\n"))
        .isInstanceOf(DatasetException.class).hasMessageContaining("twice");
  }
}
