package io.hybridbridge.taint.slowpath;

import io.hybridbridge.emulator.kernel.GuestKernel;
import io.hybridbridge.emulator.kernel.KernelAnalysisException;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.SnapshotFormatException;
import io.hybridbridge.emulator.snapshot.Snapshots;
import io.hybridbridge.taint.layout.UThroughT;
import java.io.IOException;
import java.nio.file.Path;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.OptionalLong;

/**
 * An untrusted snapshot U opened for inspection: any format {@link Snapshots} reads, its kernel located (layout,
 * identity), and the names its rows carry.
 *
 * <p>Open it once and inspect every tool on it: the view of U each reference machine builds (U's page cache, its
 * TLB, the layout bridge) is kept here across that machine's inspections, so the second tool on a snapshot no longer
 * pays for opening it, locating its kernel or reading its pages again. Not thread-safe.
 */
public final class UntrustedSnapshot implements AutoCloseable {
  private final String id;
  private final String vmId;
  private final Snapshot snapshot;
  private final GuestKernel kernel;
  /** U through each machine's layout, by the {@link BridgedMachine} that built it. */
  private final Map<BridgedMachine, UThroughT> views = new IdentityHashMap<>(2);
  private OptionalLong clockStart = OptionalLong.empty();

  private UntrustedSnapshot(String id, String vmId, Snapshot snapshot, GuestKernel kernel) {
    this.id = id;
    this.vmId = vmId;
    this.snapshot = snapshot;
    this.kernel = kernel;
  }

  /**
   * Opens {@code path} and locates its kernel.
   *
   * @param id the snapshot's name in rows (a manifest id, or the file name)
   * @param vmId the virtual machine it was taken of, or null
   */
  public static UntrustedSnapshot open(Path path, String id, String vmId) throws SlowPathException {
    Snapshot snapshot;
    try {
      snapshot = Snapshots.open(path);
    } catch (IOException | SnapshotFormatException e) {
      throw new SlowPathException(SlowPathException.Reason.SNAPSHOT, path + ": " + e.getMessage(), e);
    }
    return of(snapshot, id, vmId);
  }

  /** Takes {@code snapshot} (opened from any source) and locates its kernel; closes it on failure. */
  public static UntrustedSnapshot of(Snapshot snapshot, String id, String vmId) throws SlowPathException {
    try {
      return new UntrustedSnapshot(id, vmId, snapshot, GuestKernel.locate(snapshot));
    } catch (KernelAnalysisException | RuntimeException e) {
      snapshot.close();
      throw new SlowPathException(SlowPathException.Reason.SNAPSHOT, snapshot.name() + ": " + e.getMessage(), e);
    }
  }

  public String id() {
    return id;
  }

  public String vmId() {
    return vmId;
  }

  public GuestKernel kernel() {
    return kernel;
  }

  /** The TSC its inspections start at, once a slow path has found it ({@link SlowPath#calibrateClock}). */
  OptionalLong clockStart() {
    return clockStart;
  }

  void setClockStart(long tsc) {
    clockStart = OptionalLong.of(tsc);
  }

  /** U as {@code machine} sees it, built on its first inspection of this snapshot. */
  UThroughT view(BridgedMachine machine) throws SlowPathException {
    UThroughT view = views.get(machine);
    if (view == null) {
      view = machine.view(this);
      views.put(machine, view);
    }
    return view;
  }

  @Override
  public void close() {
    views.clear();
    snapshot.close();
  }
}
