package io.hybridbridge.datasets;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The reference's trusted agent, {@code /sbin/hb-agent}: a minimal static x86-64 ELF executable whose whole code
 * is {@code jmp .} at {@link #ENTRY}. It spins in user mode forever, so a paused CPU is almost always found there,
 * and its executable mapping is one recognisable page.
 */
final class AgentProgram {
  static final long BASE = 0x400000L;
  private static final int HEADERS = 64 + 56;
  static final long ENTRY = BASE + HEADERS;
  private static final byte[] CODE = {(byte) 0xeb, (byte) 0xfe}; // jmp . (rel8 -2)

  private AgentProgram() {}

  static byte[] bytes() {
    int size = HEADERS + CODE.length;
    ByteBuffer b = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {0x7f, 'E', 'L', 'F', 2, 1, 1, 0}).put(new byte[8]); // ELF64, LE, version 1, System V
    b.putShort((short) 2);        // e_type: ET_EXEC
    b.putShort((short) 0x3e);     // e_machine: x86-64
    b.putInt(1);                  // e_version
    b.putLong(ENTRY);             // e_entry
    b.putLong(64);                // e_phoff: right after this header
    b.putLong(0);                 // e_shoff: no sections
    b.putInt(0);                  // e_flags
    b.putShort((short) 64);       // e_ehsize
    b.putShort((short) 56);       // e_phentsize
    b.putShort((short) 1);        // e_phnum
    b.putShort((short) 0).putShort((short) 0).putShort((short) 0); // no section headers
    b.putInt(Elf64.PT_LOAD);      // p_type
    b.putInt(5);                  // p_flags: R + X
    b.putLong(0);                 // p_offset: the whole file
    b.putLong(BASE).putLong(BASE); // p_vaddr, p_paddr
    b.putLong(size).putLong(size); // p_filesz, p_memsz
    b.putLong(0x1000);            // p_align
    b.put(CODE);
    return b.array();
  }
}
