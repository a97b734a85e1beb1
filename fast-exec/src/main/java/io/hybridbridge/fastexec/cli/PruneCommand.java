package io.hybridbridge.fastexec.cli;

import io.hybridbridge.fastexec.store.MetadataStore;
import io.hybridbridge.fastexec.store.TranslationStore;
import io.hybridbridge.taint.metadata.MetadataException;
import java.io.IOException;
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
 * started from on its workers for as long as it runs. Then the translated code in the store that no fast path has
 * used for {@code --translated-unused-days} ({@link TranslationStore#prune}): another build of hb keys its code anew.
 */
@Command(name = "prune", mixinStandardHelpOptions = true,
    description = "Remove old versions of the metadata store: all but the newest --keep, if older than "
        + "--min-age-hours (units a kept version shares stay); and its translated code unused for "
        + "--translated-unused-days.")
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

  @Option(names = "--translated-unused-days", paramLabel = "D", defaultValue = "30",
      description = "Remove translated code (the store's translated/) no fast path has used for D days, at least 2: "
          + "what an earlier build of hb compiled is never used again (default: ${DEFAULT-VALUE}).")
  long translatedUnusedDays;

  @Override
  public Integer call() {
    if (keep < 1 || minAgeHours < 0 || translatedUnusedDays < 2) {
      System.err.println("prune: --keep must be at least 1, --min-age-hours at least 0 and --translated-unused-days "
          + "at least 2");
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
      TranslationStore translated = TranslationStore.ofMetadataStore(metadata.directory());
      TranslationStore.Pruned code = translated.prune(Duration.ofDays(translatedUnusedDays));
      System.out.printf("%s: removed %d file(s) of translated code unused for %d days (%s); kept %d (%s)%n",
          translated.directory(), code.removed(), translatedUnusedDays, megabytes(code.removedBytes()), code.kept(),
          megabytes(code.keptBytes()));
      return 0;
    } catch (MetadataException e) {
      System.err.println("prune: " + e.getMessage());
      return 1;
    } catch (IOException e) {
      System.err.println("prune: cannot prune the translated code of " + store + ": " + e);
      return 1;
    }
  }

  private static String megabytes(long bytes) {
    return String.format("%.1f MB", bytes / 1e6);
  }

  private static String range(List<Long> numbers) {
    return numbers.size() == 1 ? "v" + numbers.get(0) : "v" + numbers.get(0) + "..v" + numbers.get(numbers.size() - 1);
  }
}
