package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.tools.CapturedKernel;
import io.hybridbridge.emulator.tools.DirentParser;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.KernelCalls;
import io.hybridbridge.emulator.tools.ToolException;
import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.InspectionOutcome;
import io.hybridbridge.pipeline.engine.MetadataView;
import io.hybridbridge.pipeline.engine.SnapshotInspector;
import io.hybridbridge.schemas.FallbackRow;
import io.hybridbridge.schemas.SnapshotRef;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import org.apache.avro.specific.SpecificRecord;

/**
 * TEST DOUBLE, test scope only: an engine that does NOT emulate anything. It answers each tool's system calls
 * from the ground truth the guest printed before its dump ({@link CapturedKernel}), so its rows are the guest's
 * own answer by construction: it tests the plumbing (which rows reach which table with which status), not
 * inspection. Its "metadata" is the set of calls a slow run saw (read PATH, list PATH, uname); the "fast path"
 * answers only calls in that set and falls back on the first other one — the same shape as real metadata, so
 * training, fallback, re-training and the store's next version are exercised on the real dataset.
 */
final class GroundTruthReplayEngine extends StringSetMetadataEngine {
  private final Map<String, String> truthDirs;

  /** @param truthDirs ground-truth directory of each snapshot id */
  GroundTruthReplayEngine(Map<String, String> truthDirs) {
    this.truthDirs = Map.copyOf(truthDirs);
  }

  @Override
  public String name() {
    return "ground-truth replay (test)";
  }

  @Override
  public SnapshotInspector<List<String>> open() {
    return new SnapshotInspector<>() {
      @Override
      public InspectionOutcome<List<String>> inspect(SnapshotRef snapshot, InspectionTool tool,
          MetadataView<List<String>> metadata) {
        String truth = truthDirs.get(snapshot.getTarget().getId());
        if (truth == null) {
          return InspectionOutcome.failed("no ground truth for " + snapshot.getTarget().getId(), 0, 0);
        }
        Optional<List<String>> known = metadata.get(BuildTool.of(snapshot, tool.name()));
        Replay calls;
        try {
          calls = new Replay(CapturedKernel.open(Path.of(truth)), known.map(Set::copyOf).orElse(null));
        } catch (IOException e) {
          return InspectionOutcome.failed("ground truth of " + snapshot.getTarget().getId() + ": " + e, 0, 0);
        }
        List<? extends SpecificRecord> rows;
        try {
          rows = tool.run(calls, SnapshotInspector.rowContext(snapshot));
        } catch (Unseen unseen) {
          return InspectionOutcome.fallback(List.of(FallbackRow.newBuilder()
              .setSnapshotId(snapshot.getTarget().getId()).setVmId(snapshot.getTarget().getVmId())
              .setKernelBuild(snapshot.getKernelBuild()).setBuildId(snapshot.getBuildId()).setTool(tool.name())
              .setPcOffset(0).setReason(unseen.getMessage()).setInstructionsBefore(calls.seen.size()).build()),
              calls.seen.size(), 0);
        } catch (ToolException e) {
          return InspectionOutcome.failed(e.getMessage(), calls.seen.size(), 0);
        }
        return known.isPresent() ? InspectionOutcome.fast(rows, calls.seen.size(), 0)
            : InspectionOutcome.slow(rows, List.copyOf(calls.seen), calls.seen.size(), 0);
      }

      @Override
      public void close() {}
    };
  }

  /** A call the "metadata" does not cover. */
  static final class Unseen extends ToolException {
    Unseen(String call) {
      super("replay: no metadata for " + call);
    }
  }

  /** The captured kernel, recording each call and refusing those outside {@code allowed} (when given). */
  private static final class Replay implements KernelCalls {
    private final CapturedKernel captured;
    private final Set<String> allowed;
    final TreeSet<String> seen = new TreeSet<>();

    Replay(CapturedKernel captured, Set<String> allowed) {
      this.captured = captured;
      this.allowed = allowed;
    }

    private void call(String call) throws Unseen {
      if (allowed != null && !allowed.contains(call)) {
        throw new Unseen(call);
      }
      seen.add(call);
    }

    @Override
    public byte[] readFile(String path) throws ToolException {
      call("read " + path);
      return captured.readFile(path);
    }

    @Override
    public List<DirentParser.Dirent> listDirectory(String path) throws ToolException {
      call("list " + path);
      return captured.listDirectory(path);
    }

    @Override
    public byte[] uname() throws ToolException {
      call("uname");
      return captured.uname();
    }
  }
}
