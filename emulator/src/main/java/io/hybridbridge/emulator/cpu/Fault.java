package io.hybridbridge.emulator.cpu;

/**
 * An exception the CPU raised at an instruction: a page fault, #UD (ud2, an invalid or unimplemented
 * encoding), #GP, #DE, #BP. When it reaches the {@link FaultHandler}, the CPU state is the state before the
 * faulting instruction (RIP = {@link #pc}) and, for a page fault, CR2 = {@link #address}.
 *
 * @param vector the x86 exception vector ({@link #DE}, {@link #BP}, {@link #UD}, {@link #GP}, {@link #PF})
 * @param pc the faulting instruction
 * @param address the faulting linear address (#PF), or 0
 * @param errorCode the architectural error code (#PF bits, #GP selector), or 0
 * @param description what happened, for messages
 */
public record Fault(int vector, long pc, long address, int errorCode, String description) {
  public static final int DE = 0, BP = 3, UD = 6, GP = 13, PF = 14;

  public String name() {
    switch (vector) {
      case DE: return "#DE";
      case BP: return "#BP";
      case UD: return "#UD";
      case GP: return "#GP";
      case PF: return "#PF";
      default: return "#" + vector;
    }
  }

  @Override
  public String toString() {
    return vector == PF
        ? "%s at pc 0x%x, address 0x%x (error 0x%x): %s".formatted(name(), pc, address, errorCode, description)
        : "%s at pc 0x%x: %s".formatted(name(), pc, description);
  }
}
