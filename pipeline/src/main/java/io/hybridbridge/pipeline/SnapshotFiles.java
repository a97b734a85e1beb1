package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.snapshot.ByteSource;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.SnapshotFormatException;
import io.hybridbridge.emulator.snapshot.Snapshots;
import java.io.IOException;
import java.net.URI;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.apache.beam.sdk.io.FileSystems;
import org.apache.beam.sdk.io.fs.MatchResult;

/**
 * Where snapshots are read from: a local path (memory-mapped; pages come from the OS on demand) or a URI of any
 * file system registered with Beam's {@link FileSystems}, read through its channel — only the pages a worker
 * touches are read. Scan elements carry these locations, never bytes.
 */
public final class SnapshotFiles {
  private static final Pattern URI_SCHEME = Pattern.compile("^[a-zA-Z][a-zA-Z0-9+.-]*:/.*");

  private SnapshotFiles() {}

  /** The local path of {@code location} (a plain path or a {@code file:} URI); empty for other schemes. */
  public static Optional<Path> localPath(String location) {
    if (!URI_SCHEME.matcher(location).matches()) {
      return Optional.of(Path.of(location));
    }
    URI uri = URI.create(location);
    return "file".equalsIgnoreCase(uri.getScheme()) ? Optional.of(Path.of(uri)) : Optional.empty();
  }

  /**
   * {@code location} made absolute against {@code base} when it is a relative local path; URIs and absolute paths
   * are returned as they are.
   */
  public static String resolve(Path base, String location) {
    Optional<Path> local = localPath(location);
    return local.isPresent() ? base.resolve(local.get()).toAbsolutePath().normalize().toString() : location;
  }

  /** Opens the snapshot at {@code location}; the caller closes it. */
  public static Snapshot open(String location) throws IOException, SnapshotFormatException {
    Optional<Path> local = localPath(location);
    return local.isPresent() ? Snapshots.open(local.get()) : openThroughBeam(location);
  }

  /**
   * Opens {@code location} through Beam's file systems. The channel must be seekable (random access is what keeps
   * a worker from reading whole snapshots). A raw image's CPU sidecar is read only for local files.
   */
  static Snapshot openThroughBeam(String location) throws IOException, SnapshotFormatException {
    MatchResult.Metadata file = FileSystems.matchSingleFileSpec(location);
    ReadableByteChannel channel = FileSystems.open(file.resourceId());
    if (!(channel instanceof SeekableByteChannel seekable)) {
      channel.close();
      throw new IOException(location + ": its file system gives no random access (channel "
          + channel.getClass().getName() + " is not seekable)");
    }
    return Snapshots.open(ByteSource.of(seekable, location), List::of);
  }
}
