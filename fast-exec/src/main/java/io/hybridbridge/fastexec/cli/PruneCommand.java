package io.hybridbridge.fastexec.cli;

import io.hybridbridge.fastexec.store.MetadataStore;
import io.hybridbridge.taint.metadata.MetadataException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hb prune}: removes old versions of the metadata store, which keeps every version it ever wrote. The newest
 * {@code --keep} stay, and so does every version younger than {@code --min-age-hours}: a scan reads the version it
 * started from on its workers for as long as it runs.
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
    description = "Remove old versions of the metadata store: all but the newest --keep, if older than "
        + "--min-age-hours (units a kept version shares stay).")
public final class PruneCommand implements Callable<Integer> {
  @Option(names = "--store", paramLabel = "DIR", description = "Metadata store (default: ${DEFAULT-VALUE}).")
  Path store = TrainCommand.defaultMetadataDirectory().resolve("store");

  @Option(names = "--keep", paramLabel = "N", defaultValue = "10",
      description = "Newest versions to keep, at least 1 (default: ${DEFAULT-VALUE}).")
  int keep;

  @Option(names = "--min-age-hours", paramLabel = "H", defaultValue = "24",
      description = "Keep every version written less than H hours ago, for the scans that may still read it "
          + "(default: ${DEFAULT-VALUE}).")
  long minAgeHours;

  @Override
  public Integer call() {
    if (keep < 1 || minAgeHours < 0) {
      System.err.println("prune: --keep must be at least 1 and --min-age-hours at least 0");
      return 2;
    }
    if (!Files.isDirectory(store)) {
      System.err.println("prune: no metadata store at " + store);
      return 2;
    }
    try {
      MetadataStore metadata = MetadataStore.open(store);
      List<Long> pruned = metadata.prune(keep, Duration.ofHours(minAgeHours));
      List<Long> kept = metadata.versionNumbers();
      System.out.printf("%s: removed %d version(s)%s; kept %d (%s)%n", metadata.directory(), pruned.size(),
          pruned.isEmpty() ? "" : " " + range(pruned), kept.size(), kept.isEmpty() ? "none" : range(kept));
      return 0;
    } catch (MetadataException e) {
      System.err.println("prune: " + e.getMessage());
      return 1;
    }
  }

  private static String range(List<Long> numbers) {
    return numbers.size() == 1 ? "v" + numbers.get(0) : "v" + numbers.get(0) + "..v" + numbers.get(numbers.size() - 1);
  }
}
