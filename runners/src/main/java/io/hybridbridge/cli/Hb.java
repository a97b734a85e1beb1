package io.hybridbridge.cli;

import io.hybridbridge.datasets.DatasetsCommand;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code ./hb} command line: one entry point, one subcommand per module that owns the work. */
@Command(
    name = "hb",
    mixinStandardHelpOptions = true,
    version = "Hybrid-Bridge 0.1.0",
    description = "Virtual machine introspection of Linux memory snapshots by reusing the kernel's own code.",
    subcommands = {DatasetsCommand.class, DemoCommand.class, io.hybridbridge.emulator.cli.InfoCommand.class,
        io.hybridbridge.emulator.cli.ExecCommand.class, io.hybridbridge.fastexec.cli.InspectCommand.class,
        io.hybridbridge.fastexec.cli.TrainCommand.class, io.hybridbridge.fastexec.cli.PruneCommand.class,
        ScanCommand.class, BenchCommand.class, FlinkCommand.class,
        CommandLine.HelpCommand.class})
public final class Hb {
  public static void main(String[] args) {
    System.exit(new CommandLine(new Hb()).execute(args));
  }
}
