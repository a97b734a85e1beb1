package io.hybridbridge.datasets;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.tukaani.xz.XZInputStream;

/**
 * An unpacked kernel package: the kernel image and the modules tree, found from the files themselves (no per-build
 * knowledge). Module names are normalised as the kernel does ('-' and '_' are the same).
 */
final class KernelTree {
  /** A module file in the tree; {@code stem} is the file name without .ko/.ko.xz/.ko.zst. */
  record Module(String name, String stem, Path file) {
    boolean compressed() {
      return file.getFileName().toString().endsWith(".xz");
    }
  }

  private final Path root;
  private final Path kernelImage;
  private final String release;
  private final Map<String, Module> modules;
  private final Set<String> builtin;

  private KernelTree(Path root, Path kernelImage, String release, Map<String, Module> modules,
      Set<String> builtin) {
    this.root = root;
    this.kernelImage = kernelImage;
    this.release = release;
    this.modules = modules;
    this.builtin = builtin;
  }

  /** Reads the tree unpacked at {@code root} (the output of {@code dpkg-deb -x}). */
  static KernelTree open(Path root) throws DatasetException {
    try {
      Path image;
      try (Stream<Path> boot = Files.list(root.resolve("boot"))) {
        List<Path> images = boot.filter(p -> p.getFileName().toString().startsWith("vmlinuz-")).toList();
        if (images.size() != 1) {
          throw new DatasetException("expected one boot/vmlinuz-* in " + root + ", found " + images.size());
        }
        image = images.get(0);
      }
      String release = image.getFileName().toString().substring("vmlinuz-".length());
      Path modulesRoot = root.resolve("lib/modules").resolve(release);
      if (!Files.isDirectory(modulesRoot)) {
        throw new DatasetException("no modules tree " + modulesRoot + " for kernel " + image);
      }
      Map<String, Module> modules = new HashMap<>();
      try (Stream<Path> files = Files.walk(modulesRoot.resolve("kernel"))) {
        for (Path file : files.filter(Files::isRegularFile).toList()) {
          String stem = moduleStem(file.getFileName().toString());
          if (stem != null) {
            modules.put(normalise(stem), new Module(normalise(stem), stem, file));
          }
        }
      }
      Set<String> builtin = new HashSet<>();
      Path builtinList = modulesRoot.resolve("modules.builtin");
      if (Files.exists(builtinList)) {
        for (String line : Files.readAllLines(builtinList)) {
          String stem = moduleStem(Path.of(line.trim()).getFileName().toString());
          if (stem != null) {
            builtin.add(normalise(stem));
          }
        }
      }
      return new KernelTree(root, image, release, modules, builtin);
    } catch (IOException e) {
      throw new DatasetException("cannot read the unpacked kernel package " + root + ": " + e.getMessage(), e);
    }
  }

  static String normalise(String moduleName) {
    return moduleName.replace('-', '_');
  }

  private static String moduleStem(String fileName) {
    for (String suffix : List.of(".ko", ".ko.xz", ".ko.zst", ".ko.gz")) {
      if (fileName.endsWith(suffix)) {
        return fileName.substring(0, fileName.length() - suffix.length());
      }
    }
    return null;
  }

  Path root() {
    return root;
  }

  Path kernelImage() {
    return kernelImage;
  }

  /** The kernel release ({@code uname -r}), from the image's file name. */
  String release() {
    return release;
  }

  /**
   * The modules to insmod so that each of {@code wanted} ends up loaded, dependencies first, skipping modules the
   * kernel has built in and those in {@code alreadyLoaded}.
   */
  List<Module> loadOrder(List<String> wanted, Set<String> alreadyLoaded, ModuleDependencies dependencies)
      throws DatasetException {
    LinkedHashSet<String> order = new LinkedHashSet<>();
    for (String name : wanted) {
      String n = normalise(name);
      if (!modules.containsKey(n)) {
        throw new DatasetException("module '" + name + "' is not a loadable module of kernel " + release
            + (builtin.contains(n) ? " (it is built in)" : " (no such module in " + root + ")")
            + "; choose others with --boot-modules / --step-modules");
      }
      visit(n, order, new HashSet<>(), alreadyLoaded, dependencies);
    }
    List<Module> result = new ArrayList<>();
    for (String n : order) {
      result.add(modules.get(n));
    }
    return result;
  }

  private void visit(String name, LinkedHashSet<String> order, Set<String> visiting, Set<String> alreadyLoaded,
      ModuleDependencies dependencies) throws DatasetException {
    if (order.contains(name) || alreadyLoaded.contains(name) || builtin.contains(name)) {
      return;
    }
    Module module = modules.get(name);
    if (module == null) {
      throw new DatasetException("kernel " + release + ": dependency '" + name + "' is neither a module file nor "
          + "built in");
    }
    if (!visiting.add(name)) {
      throw new DatasetException("kernel " + release + ": module dependency cycle through " + name);
    }
    for (String dependency : dependencies.of(module)) {
      visit(normalise(dependency), order, visiting, alreadyLoaded, dependencies);
    }
    order.add(name);
  }

  /** The module as the kernel loads it: .ko.xz files are decompressed here, on the host. */
  static byte[] loadableBytes(Module module) throws DatasetException {
    try (InputStream raw = Files.newInputStream(module.file())) {
      if (module.compressed()) {
        try (InputStream xz = new XZInputStream(raw)) {
          return xz.readAllBytes();
        }
      }
      if (!module.file().getFileName().toString().endsWith(".ko")) {
        throw new DatasetException("module " + module.file() + ": only .ko and .ko.xz are supported");
      }
      return raw.readAllBytes();
    } catch (IOException e) {
      throw new DatasetException("cannot read module " + module.file() + ": " + e.getMessage(), e);
    }
  }

  /** Where a module's dependencies come from; {@link #modinfo()} asks kmod's modinfo. */
  interface ModuleDependencies {
    List<String> of(Module module) throws DatasetException;

    static ModuleDependencies modinfo() {
      return module -> {
        HostCommand.Result result = HostCommand.run(
            List.of("modinfo", "-F", "depends", module.file().toString()), null, Duration.ofSeconds(30));
        if (!result.ok()) {
          throw new DatasetException("modinfo -F depends " + module.file() + " failed:\n" + result.tail(5));
        }
        List<String> depends = new ArrayList<>();
        for (String part : result.output().trim().split(",")) {
          if (!part.isBlank()) {
            depends.add(part.trim());
          }
        }
        return depends;
      };
    }
  }
}
