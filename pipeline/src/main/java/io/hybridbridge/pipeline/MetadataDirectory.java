package io.hybridbridge.pipeline;

import io.hybridbridge.fastexec.store.MetadataStore;
import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.EngineException;
import io.hybridbridge.schemas.TrainingMetadata;
import io.hybridbridge.taint.metadata.MetadataException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The fast path's metadata store ({@code fast-exec}'s versioned directory, the one {@code hb inspect --path auto}
 * uses too) behind the seam. The directory must be one every worker sees: the commit runs on a worker.
 */
public final class MetadataDirectory implements io.hybridbridge.pipeline.engine.MetadataStore<TrainingMetadata> {
  private final String directory;

  public MetadataDirectory(Path directory) {
    this.directory = directory.toAbsolutePath().normalize().toString();
  }

  @Override
  public Version<TrainingMetadata> read() throws EngineException {
    try {
      MetadataStore.Version latest = MetadataStore.open(Path.of(directory)).latest();
      return version(latest, latest.outdatedNote(Path.of(directory)).stream().toList());
    } catch (MetadataException e) {
      throw failed(e);
    }
  }

  @Override
  public Index index() throws EngineException {
    try {
      MetadataStore.Index newest = MetadataStore.open(Path.of(directory)).latestIndex();
      Set<BuildTool> units = new HashSet<>();
      newest.units().forEach(key -> units.add(new BuildTool(key.buildId(), key.tool())));
      return new Index(newest.number(), units, newest.outdatedNote(Path.of(directory)).stream().toList());
    } catch (MetadataException e) {
      throw failed(e);
    }
  }

  @Override
  public Map<BuildTool, TrainingMetadata> units(long number, Set<String> buildIds) throws EngineException {
    try {
      return version(MetadataStore.open(Path.of(directory)).read(number, key -> buildIds.contains(key.buildId())),
          List.of()).units();
    } catch (MetadataException e) {
      throw failed(e);
    }
  }

  @Override
  public Version<TrainingMetadata> commit(Map<BuildTool, TrainingMetadata> learnt) throws EngineException {
    try {
      return version(MetadataStore.open(Path.of(directory)).commit(learnt.values()), List.of());
    } catch (MetadataException e) {
      throw failed(e);
    }
  }

  /** The store's failure, named by its directory once (the store's own messages mostly name it already). */
  private EngineException failed(MetadataException e) {
    String where = "metadata store " + directory;
    return new EngineException(e.getMessage().startsWith(where) ? e.getMessage() : where + ": " + e.getMessage(), e);
  }

  private static Version<TrainingMetadata> version(MetadataStore.Version version, List<String> notes) {
    Map<BuildTool, TrainingMetadata> units = new HashMap<>();
    version.units().forEach((key, unit) -> units.put(new BuildTool(key.buildId(), key.tool()), unit));
    return new Version<>(version.number(), units, notes);
  }
}
