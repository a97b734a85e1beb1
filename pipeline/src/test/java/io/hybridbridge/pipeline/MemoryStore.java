package io.hybridbridge.pipeline;

import io.hybridbridge.pipeline.engine.BuildTool;
import io.hybridbridge.pipeline.engine.EngineException;
import io.hybridbridge.pipeline.engine.InspectionEngine;
import io.hybridbridge.pipeline.engine.MetadataStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * TEST DOUBLE of a metadata store, in this JVM's memory (so only for the Direct runner and an embedded Flink):
 * versions kept per store name; a commit merges what was learnt into the newest version with the engine's merge.
 */
final class MemoryStore<M> implements MetadataStore<M> {
  private static final Map<String, List<Map<BuildTool, ?>>> VERSIONS = new ConcurrentHashMap<>();

  private final String name;
  private final InspectionEngine<M> engine;

  MemoryStore(String name, InspectionEngine<M> engine) {
    this.name = name;
    this.engine = engine;
    VERSIONS.put(name, new ArrayList<>(List.of(Map.of())));
  }

  @Override
  public Version<M> read() {
    synchronized (VERSIONS) {
      List<Map<BuildTool, ?>> versions = VERSIONS.get(name);
      return new Version<>(versions.size() - 1, units(versions.get(versions.size() - 1)));
    }
  }

  @Override
  public Map<BuildTool, M> units(long number, java.util.Set<String> buildIds) {
    synchronized (VERSIONS) {
      Map<BuildTool, M> units = new HashMap<>(units(VERSIONS.get(name).get((int) number)));
      units.keySet().removeIf(key -> !buildIds.contains(key.buildId()));
      return units;
    }
  }

  @Override
  public Version<M> commit(Map<BuildTool, M> learnt) throws EngineException {
    synchronized (VERSIONS) {
      List<Map<BuildTool, ?>> versions = VERSIONS.get(name);
      Map<BuildTool, M> next = new HashMap<>(units(versions.get(versions.size() - 1)));
      for (Map.Entry<BuildTool, M> unit : learnt.entrySet()) {
        M old = next.get(unit.getKey());
        next.put(unit.getKey(), old == null ? unit.getValue() : engine.merge(old, unit.getValue()));
      }
      versions.add(Map.copyOf(next));
      next.keySet().retainAll(learnt.keySet());
      return new Version<>(versions.size() - 1, next);
    }
  }

  @SuppressWarnings("unchecked")
  private Map<BuildTool, M> units(Map<BuildTool, ?> version) {
    return (Map<BuildTool, M>) version;
  }
}
