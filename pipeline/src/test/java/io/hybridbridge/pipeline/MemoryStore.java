package io.hybridbridge.pipeline;

import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.EngineException;
import io.hybridbridge.pipeline.engine.MetadataStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * TEST DOUBLE of a metadata store, in this JVM's memory (so only for the Direct runner): versions are kept per
 * store name; a commit on top of a version that is no longer the newest is refused, as a real store must.
 */
final class MemoryStore<M> implements MetadataStore<M> {
  private static final Map<String, List<Map<BuildTool, ?>>> VERSIONS = new ConcurrentHashMap<>();

  private final String name;

  MemoryStore(String name) {
    this.name = name;
    VERSIONS.put(name, new ArrayList<>(List.of(Map.of())));
  }

  @Override
  @SuppressWarnings("unchecked")
  public synchronized Version<M> read() {
    List<Map<BuildTool, ?>> versions = VERSIONS.get(name);
    return new Version<>(versions.size() - 1, (Map<BuildTool, M>) versions.get(versions.size() - 1));
  }

  @Override
  public synchronized long commit(long baseVersion, Map<BuildTool, M> changed) throws EngineException {
    List<Map<BuildTool, ?>> versions = VERSIONS.get(name);
    if (baseVersion != versions.size() - 1) {
      throw new EngineException("store " + name + " is at version " + (versions.size() - 1) + ", not "
          + baseVersion);
    }
    Map<BuildTool, Object> next = new HashMap<>(versions.get(versions.size() - 1));
    next.putAll(changed);
    versions.add(Map.copyOf(next));
    return versions.size() - 1;
  }
}
