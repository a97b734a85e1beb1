package io.hybridbridge.runners.flink;

/** One JVM of the local cluster: its role ({@code jobmanager}, {@code taskmanager-1}, ...), PID and log file. */
public record FlinkProcess(String role, long pid, String log) {
  @Override
  public String toString() {
    return role + " (pid " + pid + ")";
  }
}
