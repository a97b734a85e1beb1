package io.hybridbridge.emulator.tools;

import java.util.List;
import org.apache.avro.specific.SpecificRecord;

/**
 * An inspection program: a fixed script of system calls plus a parser of the text the kernel returns. Tools are
 * data for the engine: adding one never touches the emulator, the taint engine or the fast path.
 */
public interface InspectionTool {
  /** Short name used on the command line, in metadata keys and in the status table (ps, lsmod, ...). */
  String name();

  /** The output table its rows go to (processes, modules, sockets, system, mounts). */
  String table();

  List<? extends SpecificRecord> run(KernelCalls kernel, RowContext context) throws ToolException;
}
