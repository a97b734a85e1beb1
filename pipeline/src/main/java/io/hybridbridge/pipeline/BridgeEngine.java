package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.kernel.Profile;
import io.hybridbridge.emulator.kernel.ProfileException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.snapshot.SnapshotFormatException;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.fastexec.FastPath;
import io.hybridbridge.fastexec.store.TranslationStore;
import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.EngineException;
import io.hybridbridge.pipeline.engine.InspectionEngine;
import io.hybridbridge.pipeline.engine.InspectionOutcome;
import io.hybridbridge.pipeline.engine.MetadataView;
import io.hybridbridge.pipeline.engine.SnapshotInspector;
import io.hybridbridge.pipeline.engine.SnapshotSession;
import io.hybridbridge.schemas.MetadataRow;
import io.hybridbridge.schemas.SnapshotRef;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.Metadata;
import io.hybridbridge.taint.metadata.MetadataException;
import io.hybridbridge.taint.slowpath.SlowPath;
import io.hybridbridge.taint.slowpath.SlowPathException;
import io.hybridbridge.taint.slowpath.UntrustedSnapshot;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.beam.sdk.coders.Coder;

/**
 * Hybrid-Bridge's own engine behind the seam: the fast path of {@code fast-exec/} where the run has training
 * metadata for the snapshot's (build-id, tool) — rows, or a fallback — and otherwise the slow path of {@code taint/}
 * (emulator + taint analysis) on the same kernel machine, whose rows come with the metadata it recorded.
 */
public final class BridgeEngine implements InspectionEngine<TrainingMetadata> {
  /**
   * Heap per fast path an inspector keeps open: one holds ≈ 30–45 MB once it has run the five tools (its machine's
   * copy-on-write pages, decode cache, metadata tables), and a JVM runs several inspectors (one per DoFn instance:
   * Train, Inspect, Retrain, on each worker thread).
   */
  private static final long HEAP_PER_OPEN_FAST_PATH = 512L << 20;

  private final String referencesDir;
  private final int translateAfter;
  /** Where fast paths keep T's translated code (null: nowhere). */
  private final String translations;
  /** Fast paths an inspector keeps open at most (0: {@link #openFastPathsFor} this JVM's heap). */
  private final int openFastPaths;

  /** @param referencesDir a dataset directory whose manifest.json lists the references */
  public BridgeEngine(Path referencesDir) {
    this(referencesDir, FastPath.TRANSLATE_AFTER, Optional.empty());
  }

  /**
   * @param translateAfter fast inspections each worker's fast path of a build runs before it translates T's hot code
   *     to JVM bytecode ({@link FastPath#setTranslateAfter})
   * @param translations where the fast paths keep translated code ({@link FastPath#keepTranslations}), if anywhere
   */
  public BridgeEngine(Path referencesDir, int translateAfter, Optional<Path> translations) {
    this(referencesDir, translateAfter, translations, 0);
  }

  BridgeEngine(Path referencesDir, int translateAfter, Optional<Path> translations, int openFastPaths) {
    if (translateAfter < 1) {
      throw new IllegalArgumentException("translate after at least one inspection: " + translateAfter);
    }
    this.referencesDir = referencesDir.toAbsolutePath().normalize().toString();
    this.translateAfter = translateAfter;
    this.translations = translations.map(p -> p.toAbsolutePath().normalize().toString()).orElse(null);
    this.openFastPaths = openFastPaths;
  }

  /**
   * Fast paths an inspector keeps open in a JVM of {@code maxHeap} bytes: one per 512 MiB, at least 2 (8 at the
   * launcher's -Xmx4g). Without a bound, an inspector that meets every build of a fleet of many builds would fill the
   * heap with their fast paths; a scan of more builds than the bound groups each build's snapshots
   * ({@link #buildsKeptOpen}), so that an inspector does not reopen one for nearly every snapshot.
   */
  static int openFastPathsFor(long maxHeap) {
    return (int) Math.max(2, Math.min(Integer.MAX_VALUE, maxHeap / HEAP_PER_OPEN_FAST_PATH));
  }

  @Override
  public String name() {
    return "fast path, slow path behind it";
  }

  @Override
  public int buildsKeptOpen() {
    return openFastPaths > 0 ? openFastPaths : openFastPathsFor(Runtime.getRuntime().maxMemory());
  }

  @Override
  public Coder<TrainingMetadata> metadataCoder() {
    return RecordCoder.of(TrainingMetadata.class);
  }

  @Override
  public TrainingMetadata merge(TrainingMetadata older, TrainingMetadata newer) throws EngineException {
    try {
      return Metadata.merge(older, newer);
    } catch (MetadataException e) {
      throw new EngineException("cannot merge metadata: " + e.getMessage(), e);
    }
  }

  /** Symbols come from the profile of the reference the unit was trained on (its /proc/kallsyms). */
  @Override
  public List<MetadataRow> metadataRows(BuildTool key, String kernelBuild, long storeVersion,
      TrainingMetadata unit) throws EngineException {
    String referenceId = unit.getProvenance().getReference();
    try {
      ReferenceStore references = References.shared(referencesDir);
      ReferenceStore.Reference reference = references.references().stream()
          .filter(r -> r.id().equals(referenceId)).findFirst()
          .orElseThrow(() -> new EngineException("metadata of " + key + " was trained on reference " + referenceId
              + ", which " + references.directory() + " does not list"));
      Profile profile = references.profile(reference);
      return MetadataRows.of(unit, kernelBuild, storeVersion,
          pcOffset -> profile.symbolAt(pcOffset).map(Object::toString));
    } catch (IOException | ProfileException e) {
      throw new EngineException("symbols of reference " + referenceId + ": " + e.getMessage(), e);
    }
  }

  @Override
  public SnapshotInspector<TrainingMetadata> open() throws EngineException {
    try {
      return new Inspector(References.shared(referencesDir), translateAfter,
          translations == null ? null : TranslationStore.in(Path.of(translations)), buildsKeptOpen());
    } catch (IOException e) {
      throw new EngineException(e.getMessage(), e);
    }
  }

  /**
   * One fast path (a kernel machine on the reference, shared with its slow path) per build this thread meets, at most
   * {@code openFastPaths} at once: opening another closes the least recently used one no session holds. Reopened, a
   * fast path starts again from its reference (0.1–0.3 s warm; its translated code comes back from the store).
   */
  static final class Inspector implements SnapshotInspector<TrainingMetadata> {
    private final ReferenceStore references;
    private final int translateAfter;
    private final TranslationStore translations;
    private final int openFastPaths;
    private final Map<String, FastPath> byReference = new LinkedHashMap<>(16, 0.75f, true); // least recent first
    private final Set<Session> openSessions = new HashSet<>();
    private long closedToBoundMemory;

    Inspector(ReferenceStore references, int translateAfter, TranslationStore translations, int openFastPaths) {
      this.references = references;
      this.translateAfter = translateAfter;
      this.translations = translations;
      this.openFastPaths = openFastPaths;
    }

    /** Fast paths closed so far to keep at most the bound open. */
    long closedToBoundMemory() {
      return closedToBoundMemory;
    }

    @Override
    public InspectionOutcome<TrainingMetadata> inspect(SnapshotRef snapshot, InspectionTool tool,
        MetadataView<TrainingMetadata> metadata) {
      try (SnapshotSession<TrainingMetadata> session = session(snapshot)) {
        return session.inspect(tool, metadata);
      }
    }

    /** Opens the snapshot (and locates its kernel) at the first tool, once; a failure to open fails every tool. */
    @Override
    public SnapshotSession<TrainingMetadata> session(SnapshotRef snapshot) {
      return new Session(snapshot);
    }

    private final class Session implements SnapshotSession<TrainingMetadata> {
      private final SnapshotRef snapshot;
      private UntrustedSnapshot untrusted;
      private FastPath fast;
      private String cannotOpen;

      Session(SnapshotRef snapshot) {
        this.snapshot = snapshot;
      }

      @Override
      public InspectionOutcome<TrainingMetadata> inspect(InspectionTool tool, MetadataView<TrainingMetadata> metadata) {
        if (untrusted == null && cannotOpen == null) {
          open();
        }
        if (cannotOpen != null) {
          return InspectionOutcome.failed(cannotOpen, 0, 0);
        }
        Optional<TrainingMetadata> unit = metadata.get(BuildTool.of(snapshot, tool.name()));
        try {
          if (unit.isEmpty()) {
            SlowPath.Inspection run = fast.slow().inspect(untrusted, tool);
            return InspectionOutcome.slow(run.rows(), run.metadata(), run.instructions(),
                run.redirectedInstructions());
          }
          FastPath.Inspection run = fast.inspect(untrusted, tool, unit.get());
          return run.fellBack()
              ? InspectionOutcome.fallback(List.of(run.fallback()), run.instructions(), run.redirectedInstructions())
              : InspectionOutcome.fast(run.rows(), run.instructions(), run.redirectedInstructions());
        } catch (SlowPathException e) {
          return InspectionOutcome.failed(e.reason() + ": " + e.getMessage(), 0, 0);
        } catch (MetadataException e) {
          return InspectionOutcome.failed("metadata of " + BuildTool.of(snapshot, tool.name()) + ": "
              + e.getMessage(), 0, 0);
        }
      }

      private void open() {
        String path = snapshot.getTarget().getPath();
        openSessions.add(this);
        try {
          fast = fastPath(snapshot.getReferenceId());
          untrusted = UntrustedSnapshot.of(SnapshotFiles.open(path), snapshot.getTarget().getId(),
              snapshot.getTarget().getVmId());
        } catch (SlowPathException e) {
          cannotOpen = e.reason() + ": " + e.getMessage();
        } catch (IOException | SnapshotFormatException e) {
          cannotOpen = "cannot open " + path + ": " + e.getMessage();
        }
      }

      @Override
      public void close() {
        if (untrusted != null) {
          untrusted.close();
          untrusted = null;
        }
        openSessions.remove(this);
      }
    }

    private FastPath fastPath(String referenceId) throws SlowPathException {
      FastPath fast = byReference.get(referenceId);
      if (fast == null) {
        ReferenceStore.Reference reference = references.references().stream()
            .filter(r -> r.id().equals(referenceId)).findFirst()
            .orElseThrow(() -> new SlowPathException(SlowPathException.Reason.REFERENCE, "no reference " + referenceId
                + " in " + references.directory()));
        fast = FastPath.open(reference);
        fast.setTranslateAfter(translateAfter);
        if (translations != null) {
          fast.keepTranslations(translations);
        }
        byReference.put(referenceId, fast);
        closeLeastRecentlyUsed();
      }
      return fast;
    }

    private void closeLeastRecentlyUsed() {
      Iterator<FastPath> leastRecent = byReference.values().iterator();
      while (byReference.size() > openFastPaths && leastRecent.hasNext()) {
        FastPath fast = leastRecent.next();
        if (openSessions.stream().noneMatch(session -> session.fast == fast)) {
          fast.close();
          leastRecent.remove();
          closedToBoundMemory++;
          ScanCounters.counter(ScanCounters.FAST_PATHS_CLOSED).inc();
        }
      }
    }

    @Override
    public void close() {
      byReference.values().forEach(FastPath::close);
      byReference.clear();
    }
  }
}
