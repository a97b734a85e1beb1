package io.hybridbridge.pipeline.engine;

import io.hybridbridge.schemas.SnapshotRef;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.Serializable;
import org.apache.beam.sdk.coders.AtomicCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;

/**
 * What metadata is keyed by: one exact kernel build (its GNU build-id, not its name) and one tool.
 *
 * @param buildId GNU build-id of the kernel image, lower-case hex
 * @param tool the tool's name (ps, lsmod, ...)
 */
public record BuildTool(String buildId, String tool) implements Serializable {
  public static BuildTool of(SnapshotRef snapshot, String tool) {
    return new BuildTool(snapshot.getBuildId(), tool);
  }

  @Override
  public String toString() {
    return buildId + "/" + tool;
  }

  /** A deterministic coder, so that (build, tool) can key a shuffle or a map side input. */
  public static BuildToolCoder coder() {
    return BuildToolCoder.INSTANCE;
  }

  /** Two UTF-8 strings. */
  public static final class BuildToolCoder extends AtomicCoder<BuildTool> {
    private static final BuildToolCoder INSTANCE = new BuildToolCoder();
    private static final StringUtf8Coder TEXT = StringUtf8Coder.of();

    @Override
    public void encode(BuildTool key, OutputStream out) throws IOException {
      TEXT.encode(key.buildId(), out);
      TEXT.encode(key.tool(), out);
    }

    @Override
    public BuildTool decode(InputStream in) throws IOException {
      return new BuildTool(TEXT.decode(in), TEXT.decode(in));
    }

    @Override
    public void verifyDeterministic() {}
  }
}
