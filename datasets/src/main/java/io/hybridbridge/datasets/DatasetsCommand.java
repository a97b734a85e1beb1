package io.hybridbridge.datasets;

import picocli.CommandLine.Command;

/** {@code hb datasets}: real guest snapshots, references and ground truth from Debian kernel packages. */
@Command(name = "datasets", mixinStandardHelpOptions = true,
    description = "Build real guest memory snapshots, trusted references and ground truth.",
    subcommands = {BuildCommand.class, KernelsCommand.class})
public final class DatasetsCommand {
}
