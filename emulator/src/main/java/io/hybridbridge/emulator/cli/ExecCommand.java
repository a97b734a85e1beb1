package io.hybridbridge.emulator.cli;

import io.hybridbridge.emulator.kernel.GuestKernel;
import io.hybridbridge.emulator.kernel.KernelAnalysisException;
import io.hybridbridge.emulator.kernel.ReferenceNotFoundException;
import io.hybridbridge.emulator.kernel.ReferenceStore;
import io.hybridbridge.emulator.machine.KernelMachine;
import io.hybridbridge.emulator.machine.MachineException;
import io.hybridbridge.emulator.machine.Syscalls;
import io.hybridbridge.emulator.snapshot.Snapshot;
import io.hybridbridge.emulator.snapshot.SnapshotFormatException;
import io.hybridbridge.emulator.snapshot.Snapshots;
import io.hybridbridge.emulator.tools.DirentParser;
import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.emulator.tools.RowContext;
import io.hybridbridge.emulator.tools.SystemParser;
import io.hybridbridge.emulator.tools.ToolException;
import io.hybridbridge.emulator.tools.Tools;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code hb exec REFERENCE --syscall ...|--tool ...}: runs system calls or a tool on a reference's own trusted
 * kernel (no redirection) and prints the kernel's answer with the counts.
 */
@Command(name = "exec", mixinStandardHelpOptions = true,
    description = {"Run system calls or a tool on a reference's own kernel, in the emulator (no redirection), and "
        + "print the answers with instructions, distinct pcs and wall time.",
      "A snapshot that is not a reference runs on its build's reference (its own data is not read)."})
public final class ExecCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "REFERENCE",
      description = "A reference id of the dataset (e.g. 6.1.0-53-amd64/reference) or a snapshot path.")
  String target;

  @Option(names = "--syscall", paramLabel = "CALL",
      description = "getpid | uname | read:PATH | getdents:PATH; repeatable, all in one run (kernel state such as "
          + "open files persists from one to the next).")
  List<String> calls = new ArrayList<>();

  @Option(names = "--tool", paramLabel = "TOOL", description = "Run tools (ps, lsmod, netstat, system, mount; comma "
      + "separated, or all), each from the pristine reference, and print their rows.")
  String tools;

  @Option(names = "--budget", paramLabel = "N", description = "Instructions allowed per system call "
      + "(default: ${DEFAULT-VALUE}).")
  long budget = io.hybridbridge.emulator.machine.KernelRealities.SYSCALL_BUDGET;

  @Option(names = "--dataset", paramLabel = "DIR",
      description = "Dataset whose references are used (default: ${DEFAULT-VALUE}).")
  Path dataset = ReferenceStore.defaultDatasetDirectory();

  @Override
  public Integer call() {
    PrintStream out = System.out;
    if (calls.isEmpty() && tools == null) {
      System.err.println("nothing to run: give --syscall or --tool");
      return 2;
    }
    ReferenceStore.Reference reference;
    List<InspectionTool> toolList;
    try {
      for (String call : calls) {
        if (!call.matches("getpid|uname|(read|getdents):/.*")) {
          throw new ToolException("unknown call '" + call + "'; known: getpid, uname, read:PATH, getdents:PATH");
        }
      }
      reference = resolve();
      toolList = tools == null ? List.of() : Tools.parseList(tools);
    } catch (IOException | ToolException | SnapshotFormatException | KernelAnalysisException
        | ReferenceNotFoundException e) {
      System.err.println(target + ": " + e.getMessage());
      return 2;
    }
    long opening = System.nanoTime();
    try (KernelMachine machine = KernelMachine.open(reference)) {
      out.printf("reference %s (build %s), agent pid %d, opened in %.0f ms%n", reference.id(),
          reference.kernelBuild(), machine.syscall(Syscalls.GETPID), (System.nanoTime() - opening) / 1e6);
      machine.setBudget(budget);
      machine.reset();
      int status = 0;
      for (String call : calls) {
        machine.countDistinctPcs(true); // a new count for each call
        long instructions = machine.instructions();
        long syscalls = machine.syscalls();
        long start = System.nanoTime();
        boolean failed = false;
        try {
          out.println(call + ":");
          out.print(indent(run(machine, call)));
        } catch (ToolException e) {
          out.println("  error: " + e.getMessage());
          failed = true;
          status = 1;
        }
        counts(out, machine, machine.instructions() - instructions, machine.syscalls() - syscalls, start);
        if (failed && machine.stoppedInKernel()) {
          machine.reset(); // the next call starts a new run
        }
      }
      for (InspectionTool tool : toolList) {
        machine.countDistinctPcs(true);
        long start = System.nanoTime();
        try {
          List<?> rows = machine.runTool(tool, new RowContext(reference.id(), null, reference.kernelBuild()));
          out.println("tool " + tool.name() + ": " + rows.size() + " " + tool.table() + " rows");
          rows.forEach(r -> out.println("  " + r));
        } catch (ToolException e) {
          out.println("tool " + tool.name() + ":\n  error: " + e.getMessage());
          status = 1;
        }
        counts(out, machine, machine.instructions(), machine.syscalls(), start);
      }
      return status;
    } catch (MachineException e) {
      System.err.println(target + ": " + e.getMessage());
      return 2;
    }
  }

  /** The reference named by {@link #target}: an id, a reference's snapshot, or any snapshot's build reference. */
  private ReferenceStore.Reference resolve() throws IOException, SnapshotFormatException, KernelAnalysisException,
      ReferenceNotFoundException {
    ReferenceStore store = ReferenceStore.open(dataset);
    for (ReferenceStore.Reference r : store.references()) {
      if (r.id().equals(target)) {
        return r;
      }
    }
    Path path = Path.of(target);
    if (!Files.exists(path)) {
      throw new IOException("neither a reference id of " + dataset + " nor a file");
    }
    for (ReferenceStore.Reference r : store.references()) {
      if (Files.isSameFile(r.snapshot(), path)) {
        return r;
      }
    }
    try (Snapshot snapshot = Snapshots.open(path)) {
      ReferenceStore.Reference r = store.require(GuestKernel.locate(snapshot));
      System.out.printf("%s is not a reference: running on its build's reference %s (no redirection: the answers "
          + "are the reference's)%n", target, r.id());
      return r;
    }
  }

  private static String run(KernelMachine machine, String call) throws ToolException {
    int colon = call.indexOf(':');
    String name = colon < 0 ? call : call.substring(0, colon);
    String path = colon < 0 ? null : call.substring(colon + 1);
    switch (name) { // the forms were checked in call()
      case "getpid":
        try {
          return machine.syscall(Syscalls.GETPID) + "\n";
        } catch (MachineException e) {
          throw new ToolException("getpid: " + e.getMessage(), e);
        }
      case "uname":
        return SystemParser.parseUtsname(machine.calls().uname()) + "\n";
      case "read":
        return new String(machine.calls().readFile(path), StandardCharsets.UTF_8);
      case "getdents": {
        StringBuilder s = new StringBuilder();
        int width = 0;
        for (DirentParser.Dirent d : machine.calls().listDirectory(path)) {
          if (width > 0 && width + d.name().length() > 100) {
            s.append('\n');
            width = 0;
          }
          s.append(width == 0 ? "" : " ").append(d.name());
          width += d.name().length() + 1;
        }
        return s.append('\n').toString();
      }
      default:
        throw new IllegalArgumentException(call);
    }
  }

  private static void counts(PrintStream out, KernelMachine machine, long instructions, long syscalls,
      long startNanos) {
    out.printf("  [%,d instructions, %,d distinct pcs, %d system calls, %.1f ms]%n", instructions,
        machine.distinctPcs(), syscalls, (System.nanoTime() - startNanos) / 1e6);
    machine.notes().forEach(n -> out.println("  note: " + n));
  }

  private static String indent(String text) {
    StringBuilder s = new StringBuilder();
    for (String line : text.split("\n", -1)) {
      if (!line.isEmpty()) {
        s.append("  ").append(line).append('\n');
      }
    }
    return s.toString();
  }
}
