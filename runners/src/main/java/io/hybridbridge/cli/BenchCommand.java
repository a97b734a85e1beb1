package io.hybridbridge.cli;

import io.hybridbridge.fastexec.cli.BenchPairCommand;
import io.hybridbridge.fastexec.cli.BenchPathsCommand;
import picocli.CommandLine.Command;

/** {@code hb bench …}: the benchmark programs that print the project's speed figures (one subcommand each). */
@Command(name = "bench", mixinStandardHelpOptions = true,
    description = "Benchmarks that print figures (medians, ratios) measured on this machine.",
    subcommands = {BenchPathsCommand.class, BenchPairCommand.class, BenchScanCommand.class})
public final class BenchCommand {}
