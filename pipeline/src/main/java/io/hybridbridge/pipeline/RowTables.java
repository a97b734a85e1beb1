package io.hybridbridge.pipeline;

import io.hybridbridge.emulator.tools.InspectionTool;
import io.hybridbridge.schemas.ModuleRow;
import io.hybridbridge.schemas.MountRow;
import io.hybridbridge.schemas.ProcessRow;
import io.hybridbridge.schemas.SocketRow;
import io.hybridbridge.schemas.SystemRow;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/** The Avro row class of each tool table, which the pipeline needs to write the table before any row exists. */
final class RowTables {
  private static final Map<String, Class<? extends SpecificRecord>> ROW_TYPES = Map.of(
      "processes", ProcessRow.class,
      "modules", ModuleRow.class,
      "sockets", SocketRow.class,
      "system", SystemRow.class,
      "mounts", MountRow.class);

  private RowTables() {}

  /** The row class of {@code tool}'s table; a tool writing to a table not known here is refused at job build. */
  static Class<? extends SpecificRecord> rowType(InspectionTool tool) {
    Class<? extends SpecificRecord> type = ROW_TYPES.get(tool.table());
    if (type == null) {
      throw new IllegalArgumentException("tool " + tool.name() + " writes table '" + tool.table()
          + "', which has no row schema here (known: " + ROW_TYPES.keySet() + ")");
    }
    return type;
  }
}
