package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.kernel.GuestKernel;
import io.hybridbridge.emulator.kernel.KernelAnalysisException;
import io.hybridbridge.emulator.kernel.KernelIdentity;
import io.hybridbridge.emulator.kernel.ReferenceNotFoundException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.SnapshotFormatException;
import io.hybridbridge.schemas.ScanTarget;
import io.hybridbridge.schemas.SnapshotRef;
import io.hybridbridge.schemas.StatusRow;
import java.io.IOException;
import java.nio.file.Path;
import org.apache.beam.sdk.coders.KvCoder;
import org.apache.beam.sdk.coders.StringUtf8Coder;
import org.apache.beam.sdk.transforms.DoFn;
import org.apache.beam.sdk.transforms.PTransform;
import org.apache.beam.sdk.transforms.ParDo;
import org.apache.beam.sdk.values.KV;
import org.apache.beam.sdk.values.PCollection;
import org.apache.beam.sdk.values.PCollectionTuple;
import org.apache.beam.sdk.values.TupleTag;
import org.apache.beam.sdk.values.TupleTagList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first stage of a scan (DESIGN §4): opens each snapshot where it lies, locates its kernel (page tables, KASLR
 * layout), identifies the build (banner and GNU build-id from inside the image) and finds the trusted reference of
 * that exact build. Output {@link #IDENTIFIED}: {@code KV<build-id, SnapshotRef>}. A snapshot that cannot be read,
 * is corrupt or truncated, holds no recognisable kernel, or is of a build without a reference goes to the
 * dead-letter output {@link #FAILED} as a FAILED {@code status} row with a specific failure kind and reason: it
 * never fails the job and never disappears.
 */
public final class Identify extends PTransform<PCollection<ScanTarget>, PCollectionTuple> {
  public static final TupleTag<KV<String, SnapshotRef>> IDENTIFIED = new TupleTag<>("identified") {};
  public static final TupleTag<StatusRow> FAILED = new TupleTag<>("failed") {};

  private final String referencesDir;

  private Identify(String referencesDir) {
    this.referencesDir = referencesDir;
  }

  /** Identifies against the references of {@code referencesDir} (a dataset directory with a manifest.json). */
  public static Identify against(Path referencesDir) {
    return new Identify(referencesDir.toAbsolutePath().normalize().toString());
  }

  @Override
  public PCollectionTuple expand(PCollection<ScanTarget> targets) {
    PCollectionTuple out = targets.apply("Identify kernel", ParDo.of(new IdentifyFn(referencesDir))
        .withOutputTags(IDENTIFIED, TupleTagList.of(FAILED)));
    out.get(IDENTIFIED).setCoder(KvCoder.of(StringUtf8Coder.of(), RecordCoder.of(SnapshotRef.class)));
    out.get(FAILED).setCoder(RecordCoder.of(StatusRow.class));
    return out;
  }

  static final class IdentifyFn extends DoFn<ScanTarget, KV<String, SnapshotRef>> {
    private static final Logger LOG = LoggerFactory.getLogger(IdentifyFn.class);

    private final String referencesDir;
    private transient ReferenceStore references;

    IdentifyFn(String referencesDir) {
      this.referencesDir = referencesDir;
    }

    @Setup
    public void setup() throws IOException {
      references = References.shared(referencesDir);
    }

    @ProcessElement
    public void process(@Element ScanTarget target, MultiOutputReceiver out) {
      long start = System.nanoTime();
      String build = null;
      String buildId = null;
      try (Snapshot snapshot = SnapshotFiles.open(target.getPath())) {
        GuestKernel kernel = GuestKernel.locate(snapshot);
        KernelIdentity identity = kernel.identity();
        build = identity.buildName();
        buildId = identity.buildId();
        ReferenceStore.Reference reference = references.require(kernel);
        out.get(IDENTIFIED).output(KV.of(buildId, SnapshotRef.newBuilder()
            .setTarget(target).setFormat(snapshot.format().name()).setSizeBytes(snapshot.sizeBytes())
            .setKernelBuild(build).setBuildId(buildId).setBanner(identity.banner())
            .setReferenceId(reference.id()).setReferencePath(reference.snapshot().toString())
            .build()));
        ScanCounters.counter(ScanCounters.IDENTIFIED).inc();
        return;
      } catch (SnapshotFormatException e) {
        fail(out, target, build, buildId, e.reason().name(), e.getMessage(), start);
      } catch (KernelAnalysisException e) {
        fail(out, target, build, buildId, StatusRows.KERNEL_NOT_FOUND, e.getMessage(), start);
      } catch (ReferenceNotFoundException e) {
        fail(out, target, build, buildId, StatusRows.NO_REFERENCE, e.getMessage(), start);
      } catch (IOException e) {
        fail(out, target, build, buildId, StatusRows.UNREADABLE, target.getPath() + ": " + e, start);
      } catch (RuntimeException e) {
        LOG.warn("identifying {} ({}) failed unexpectedly", target.getId(), target.getPath(), e);
        fail(out, target, build, buildId, StatusRows.INTERNAL, "unexpected " + e, start);
      }
    }

    private static void fail(MultiOutputReceiver out, ScanTarget target, String build, String buildId, String kind,
        String reason, long start) {
      out.get(FAILED).output(StatusRows.beforeTools(target, build, buildId, kind, reason,
          (System.nanoTime() - start) / 1_000_000));
      ScanCounters.counter(ScanCounters.IDENTIFY_FAILED).inc();
    }
  }
}
