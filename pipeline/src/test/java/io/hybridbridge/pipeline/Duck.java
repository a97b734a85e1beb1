package io.hybridbridge.pipeline;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/** SQL over a scan's Parquet output through DuckDB, as an analyst would query it. */
final class Duck implements AutoCloseable {
  private final Connection connection;
  private final Path out;

  Duck(Path out) throws SQLException {
    this.connection = DriverManager.getConnection("jdbc:duckdb:");
    this.out = out;
  }

  /** {@code read_parquet} of one table over every scan date, with scan_date as a column. */
  String table(String name) {
    return "read_parquet('" + out + "/scan_date=*/" + name + "/*.parquet', hive_partitioning = true)";
  }

  /** Every row of {@code sql}, each column as text (null stays null); "{t:NAME}" stands for {@link #table}. */
  List<List<String>> rows(String sql) throws SQLException {
    String query = sql;
    for (int at = query.indexOf("{t:"); at >= 0; at = query.indexOf("{t:")) {
      int end = query.indexOf('}', at);
      query = query.substring(0, at) + table(query.substring(at + 3, end)) + query.substring(end + 1);
    }
    List<List<String>> rows = new ArrayList<>();
    try (Statement statement = connection.createStatement(); ResultSet result = statement.executeQuery(query)) {
      int columns = result.getMetaData().getColumnCount();
      while (result.next()) {
        List<String> row = new ArrayList<>();
        for (int i = 1; i <= columns; i++) {
          row.add(result.getString(i));
        }
        rows.add(row);
      }
    }
    return rows;
  }

  /** The single value of a one-row, one-column query. */
  String value(String sql) throws SQLException {
    List<List<String>> rows = rows(sql);
    if (rows.size() != 1 || rows.get(0).size() != 1) {
      throw new AssertionError("expected one value from " + sql + ", got " + rows);
    }
    return rows.get(0).get(0);
  }

  @Override
  public void close() throws SQLException {
    connection.close();
  }
}
