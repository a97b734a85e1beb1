package io.hybridbridge.emulator.machine;

import io.hybridbridge.emulator.cpu.AddressSpace;
import io.hybridbridge.emulator.memory.MemoryAccessException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Optional;

/**
 * The kernel's bug table ({@code __start___bug_table} .. {@code __stop___bug_table}): which {@code ud2} is a
 * WARN (the kernel logs it and continues after the instruction) and which a BUG (the kernel dies), with the
 * source file and line.
 *
 * <p>Format (x86-64 with relative pointers and verbose bugs, as Debian builds 6.1 and 6.12: {@code struct
 * bug_entry {int bug_addr_disp; int file_disp; unsigned short line, flags;}}, {@code include/asm-generic/bug.h}):
 * both displacements are from the address of the field; flag bit 0 is BUGFLAG_WARNING. The layout is checked
 * when the table is read: every entry must point into the kernel image, the first or last at a ud instruction ({@code 0f 0b},
 * {@code 0f b9}, {@code 0f ff}).
 */
final class BugTable {
  static final int ENTRY_SIZE = 12;
  private static final int WARNING = 1;

  /** One entry: the ud2's runtime address, where its source is, whether it is a WARN. */
  record Bug(long address, String file, int line, boolean warning) {
    @Override
    public String toString() {
      return (warning ? "WARNING at " : "BUG at ") + file + ":" + line;
    }
  }

  private final AddressSpace memory;
  private final long[] addresses; // sorted
  private final long[] entries;   // the entry's own address, parallel to addresses

  private BugTable(AddressSpace memory, long[] addresses, long[] entries) {
    this.memory = memory;
    this.addresses = addresses;
    this.entries = entries;
  }

  /** Reads the table at runtime addresses {@code [start, end)}; each entry must point into the image {@code [textStart, textEnd)}. */
  static BugTable read(AddressSpace memory, long start, long end, long textStart, long textEnd)
      throws MemoryAccessException, MachineException {
    long bytes = end - start;
    if (bytes < 0 || bytes % ENTRY_SIZE != 0 || bytes > (64L << 20)) {
      throw new MachineException(MachineException.Reason.SETUP, 0,
          "the bug table is %d bytes, not a whole number of %d-byte entries".formatted(bytes, ENTRY_SIZE));
    }
    int n = (int) (bytes / ENTRY_SIZE);
    byte[] raw = new byte[(int) bytes];
    memory.read(start, raw, 0, raw.length);
    ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
    long[][] rows = new long[n][];
    for (int i = 0; i < n; i++) {
      long at = start + (long) i * ENTRY_SIZE;
      long address = at + b.getInt(i * ENTRY_SIZE);
      if (Long.compareUnsigned(address - textStart, textEnd - textStart) >= 0) {
        throw new MachineException(MachineException.Reason.SETUP, 0,
            "bug table entry %d points at 0x%x, outside the kernel image: not the expected layout".formatted(i,
                address));
      }
      rows[i] = new long[] {address, at};
    }
    Arrays.sort(rows, (x, y) -> Long.compareUnsigned(x[0], y[0]));
    long[] addresses = new long[n];
    long[] entries = new long[n];
    for (int i = 0; i < n; i++) {
      addresses[i] = rows[i][0];
      entries[i] = rows[i][1];
    }
    if (n > 0 && !isUd(memory, addresses[0]) && !isUd(memory, addresses[n - 1])) {
      throw new MachineException(MachineException.Reason.SETUP, 0,
          "bug table entries do not point at ud instructions: not the expected layout");
    }
    return new BugTable(memory, addresses, entries);
  }

  private static boolean isUd(AddressSpace memory, long address) throws MemoryAccessException {
    long opcode = memory.read(address, 2);
    return opcode == 0x0b0f || opcode == 0xb90f || opcode == 0xff0f;
  }

  int size() {
    return addresses.length;
  }

  /** The runtime address of the {@code i}-th ud instruction, in address order. */
  long address(int i) {
    return addresses[i];
  }

  /** The entry for a ud instruction at {@code pc}, if the kernel declared one. */
  Optional<Bug> find(long pc) throws MemoryAccessException {
    int i = Arrays.binarySearch(addresses, pc); // addresses are all in one sign half: signed order is fine
    if (i < 0) {
      return Optional.empty();
    }
    long entry = entries[i];
    long file = entry + 4 + (int) memory.read(entry + 4, 4);
    int line = (int) memory.read(entry + 8, 2);
    int flags = (int) memory.read(entry + 10, 2);
    return Optional.of(new Bug(pc, cString(file, 256), line, (flags & WARNING) != 0));
  }

  private String cString(long address, int max) {
    StringBuilder s = new StringBuilder();
    try {
      for (int i = 0; i < max; i++) {
        int c = (int) memory.read(address + i, 1);
        if (c == 0) {
          return s.toString();
        }
        s.append((char) c);
      }
    } catch (MemoryAccessException e) {
      s.append("?");
    }
    return new String(s.toString().getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
  }
}
