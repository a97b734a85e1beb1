package io.hybridbridge.datasets;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/** A QEMU Machine Protocol client over a unix socket: one command at a time, asynchronous events skipped. */
final class Qmp implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final SocketChannel channel;
  private final BufferedReader in;
  private final OutputStream out;

  private Qmp(SocketChannel channel) {
    this.channel = channel;
    this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.UTF_8));
    this.out = Channels.newOutputStream(channel);
  }

  /** Connects once QEMU has created {@code socket}, reads the greeting and leaves capabilities negotiation. */
  static Qmp connect(Path socket, Duration timeout, Process qemu) throws DatasetException {
    long deadline = System.nanoTime() + timeout.toNanos();
    IOException last = null;
    while (System.nanoTime() < deadline) {
      if (!qemu.isAlive()) {
        throw new DatasetException("QEMU exited (code " + qemu.exitValue() + ") before its QMP socket opened");
      }
      if (Files.exists(socket)) {
        try {
          SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX);
          channel.connect(UnixDomainSocketAddress.of(socket));
          Qmp qmp = new Qmp(channel);
          JsonNode greeting = qmp.readMessage();
          if (!greeting.has("QMP")) {
            throw new DatasetException("unexpected QMP greeting: " + greeting);
          }
          qmp.execute("qmp_capabilities", null);
          return qmp;
        } catch (IOException e) {
          last = e;
        }
      }
      sleep(50);
    }
    throw new DatasetException("cannot connect to QEMU's QMP socket " + socket + " within " + timeout.toSeconds()
        + " s" + (last == null ? "" : ": " + last.getMessage()));
  }

  /** Runs {@code command} and returns its "return" value; a QMP error becomes a DatasetException. */
  JsonNode execute(String command, ObjectNode arguments) throws DatasetException {
    ObjectNode request = JSON.createObjectNode().put("execute", command);
    if (arguments != null) {
      request.set("arguments", arguments);
    }
    try {
      out.write((JSON.writeValueAsString(request) + "\n").getBytes(StandardCharsets.UTF_8));
      out.flush();
      while (true) {
        JsonNode reply = readMessage();
        if (reply.has("event")) {
          continue;
        }
        if (reply.has("error")) {
          JsonNode error = reply.get("error");
          throw new DatasetException("QMP " + command + " failed: " + error.path("class").asText() + ": "
              + error.path("desc").asText());
        }
        return reply.path("return");
      }
    } catch (IOException e) {
      throw new DatasetException("QMP " + command + ": connection to QEMU lost (" + e.getMessage() + ")", e);
    }
  }

  ObjectNode arguments() {
    return JSON.createObjectNode();
  }

  /** A human monitor command (e.g. "info registers"), as text. */
  String humanMonitor(String commandLine) throws DatasetException {
    return execute("human-monitor-command", arguments().put("command-line", commandLine)).asText();
  }

  private JsonNode readMessage() throws IOException {
    String line = in.readLine();
    if (line == null) {
      throw new IOException("QMP socket closed");
    }
    return JSON.readTree(line);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException ignored) {
      // closing a socket to a QEMU that is going away
    }
  }
}
