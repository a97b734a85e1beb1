package io.hybridbridge.emulator.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.hybridbridge.schemas.ModuleRow;
import io.hybridbridge.schemas.MountRow;
import io.hybridbridge.schemas.SocketRow;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Parsers of the kernel's text ABI, on lines in the kernel's exact format. */
class ParsersTest {
  private static final RowContext CONTEXT = new RowContext("snap", "vm", "6.1.0-53-amd64");

  @Test
  void statWithParenthesesAndSpacesInComm() throws ToolException {
    var stat = ProcessParser.parseStat(
        "42 (my (odd) name) S 1 42 42 0 -1 4194560 88 0 0 0 0 0 0 0 20 0 3 0 1234 2453504 85 "
            + "18446744073709551615 4194304 4911041 140737488346896 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n");
    assertThat(stat.pid()).isEqualTo(42);
    assertThat(stat.comm()).isEqualTo("my (odd) name");
    assertThat(stat.state()).isEqualTo("S");
    assertThat(stat.ppid()).isEqualTo(1);
    assertThat(stat.threads()).isEqualTo(3);
    assertThat(stat.startTimeTicks()).isEqualTo(1234);
    assertThat(stat.vsizeBytes()).isEqualTo(2453504);
    assertThat(stat.rssPages()).isEqualTo(85);
  }

  @Test
  void malformedStatIsAClearError() {
    assertThatThrownBy(() -> ProcessParser.parseStat("42 sleep S 1")).isInstanceOf(ToolException.class)
        .hasMessageContaining("malformed");
    assertThatThrownBy(() -> ProcessParser.parseStat("42 (sleep) S 1 2 3")).isInstanceOf(ToolException.class)
        .hasMessageContaining("short");
  }

  @Test
  void statusGivesRealIds() throws ToolException {
    var status = ProcessParser.parseStatus(
        "Name:\tsleep\nState:\tS (sleeping)\nTgid:\t77\nPid:\t78\nUid:\t1000\t0\t0\t0\nGid:\t100\t0\t0\t0\n");
    assertThat(status).isEqualTo(new ProcessParser.Status(77, 1000, 100));
    assertThatThrownBy(() -> ProcessParser.parseStatus("Name:\tx\n")).isInstanceOf(ToolException.class);
  }

  @Test
  void cmdlineJoinsArguments() {
    assertThat(ProcessParser.parseCmdline("sleep\0003600\0".getBytes(StandardCharsets.UTF_8)))
        .isEqualTo("sleep 3600");
    assertThat(ProcessParser.parseCmdline(new byte[0])).isEmpty();
  }

  @Test
  void modulesWithAndWithoutUsers() throws ToolException {
    List<ModuleRow> rows = ModuleParser.parse(CONTEXT,
        "isofs 53248 0 - Live 0xffffffffc0652000\ncdrom 81920 1 isofs, Live 0xffffffffc0630000 (E)\n");
    assertThat(rows).hasSize(2);
    assertThat(rows.get(0).getUsedBy()).isEmpty();
    assertThat(rows.get(1).getName()).isEqualTo("cdrom");
    assertThat(rows.get(1).getUsedBy()).containsExactly("isofs");
    assertThat(rows.get(1).getAddress()).isEqualTo(0xffffffffc0630000L);
    assertThat(rows.get(1).getSnapshotId()).isEqualTo("snap");
  }

  @Test
  void tcpAndTcp6Lines() throws ToolException {
    List<SocketRow> v4 = SocketParser.parseInet(CONTEXT, "tcp",
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
            + "   0: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1234 1 "
            + "0000000000000000 100 0 0 10 0\n"
            + "   1: 0100007F:04D2 0100007F:9C40 01 00000000:00000000 00:00000000 00000000  1000        0 1240 1 "
            + "0000000000000000 20 4 30 10 -1\n");
    assertThat(v4).extracting(SocketRow::getLocalPort).containsExactly(8080, 1234);
    assertThat(v4.get(1).getLocalAddress()).isEqualTo("127.0.0.1");
    assertThat(v4.get(1).getRemotePort()).isEqualTo(40000);
    assertThat(v4).extracting(SocketRow::getState).containsExactly("LISTEN", "ESTABLISHED");
    assertThat(v4.get(1).getUid()).isEqualTo(1000);
    assertThat(v4.get(1).getInode()).isEqualTo(1240);
    List<SocketRow> v6 = SocketParser.parseInet(CONTEXT, "tcp6",
        "header\n   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A "
            + "00000000:00000000 00:00000000 00000000     0        0 99 1 0000000000000000 100 0 0 10 0\n");
    assertThat(v6.get(0).getLocalAddress()).isEqualTo("::1");
    assertThat(v6.get(0).getLocalPort()).isEqualTo(22);
  }

  @Test
  void ipv6TextIsCanonical() {
    assertThat(SocketParser.ipv6(new byte[16])).isEqualTo("::");
    byte[] mapped = new byte[16];
    mapped[10] = (byte) 0xff;
    mapped[11] = (byte) 0xff;
    mapped[12] = 127;
    mapped[15] = 1;
    assertThat(SocketParser.ipv6(mapped)).isEqualTo("::ffff:127.0.0.1");
    byte[] doc = {0x20, 0x01, 0x0d, (byte) 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1};
    assertThat(SocketParser.ipv6(doc)).isEqualTo("2001:db8::1:0:0:1");
  }

  @Test
  void unixWithAndWithoutPath() throws ToolException {
    List<SocketRow> rows = SocketParser.parseUnix(CONTEXT,
        "Num       RefCount Protocol Flags    Type St Inode Path\n"
            + "0000000000000000: 00000002 00000000 00000000 0002 01  1100 /dev/log\n"
            + "0000000000000000: 00000003 00000000 00000000 0001 03  1101\n");
    assertThat(rows).extracting(SocketRow::getUnixPath).containsExactly("/dev/log", null);
    assertThat(rows).extracting(SocketRow::getUnixType).containsExactly("DGRAM", "STREAM");
    assertThat(rows).extracting(SocketRow::getState).containsExactly("UNCONNECTED", "CONNECTED");
  }

  @Test
  void mountsUnescapeOctal() throws ToolException {
    List<MountRow> rows = MountParser.parse(CONTEXT,
        "tmpfs /mnt/with\\040space tmpfs rw,relatime 0 0\nproc /proc proc rw 0 0\n");
    assertThat(rows.get(0).getMountpoint()).isEqualTo("/mnt/with space");
    assertThat(rows.get(1).getFstype()).isEqualTo("proc");
    assertThatThrownBy(() -> MountParser.parse(CONTEXT, "proc /proc\n")).isInstanceOf(ToolException.class);
  }

  @Test
  void utsnameAndUptime() throws ToolException {
    byte[] raw = new byte[SystemParser.UTSNAME_SIZE];
    String[] fields = {"Linux", "guest", "6.1.0-53-amd64", "#1 SMP", "x86_64", "(none)"};
    for (int i = 0; i < 6; i++) {
      byte[] b = fields[i].getBytes(StandardCharsets.UTF_8);
      System.arraycopy(b, 0, raw, i * SystemParser.UTS_FIELD, b.length);
    }
    assertThat(SystemParser.parseUtsname(raw))
        .isEqualTo(new SystemParser.Utsname("Linux", "guest", "6.1.0-53-amd64", "#1 SMP", "x86_64", "(none)"));
    assertThat(SystemParser.parseUptime("32.81 30.12\n")).isEqualTo(new SystemParser.Uptime(32.81, 30.12));
    assertThatThrownBy(() -> SystemParser.parseUptime("x")).isInstanceOf(ToolException.class);
  }

  @Test
  void direntsAndCorruptRecordLength() throws ToolException {
    ByteBuffer b = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(7).putLong(1).putShort((short) 24).put((byte) 4).put("1\0\0\0\0".getBytes(StandardCharsets.UTF_8));
    b.putLong(8).putLong(2).putShort((short) 24).put((byte) 4).put("42\0\0\0".getBytes(StandardCharsets.UTF_8));
    var entries = DirentParser.parse(b.array(), 48);
    assertThat(entries).extracting(DirentParser.Dirent::name).containsExactly("1", "42");
    assertThat(entries.get(1).inode()).isEqualTo(8);
    b.putShort(16, (short) 200);
    assertThatThrownBy(() -> DirentParser.parse(b.array(), 48)).isInstanceOf(ToolException.class)
        .hasMessageContaining("d_reclen");
  }
}
