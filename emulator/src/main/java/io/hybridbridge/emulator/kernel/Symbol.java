package io.hybridbridge.emulator.kernel;

/**
 * One symbol of the core kernel. {@code address} is KASLR-free (as linked: {@code _text} = 0xffffffff81000000)
 * for image symbols, and the offset inside the per-CPU area for per-CPU symbols.
 *
 * @param type the kallsyms type letter (T/t text, D/d data, R/r read-only, B/b bss, A absolute, W/w weak, …)
 */
public record Symbol(String name, char type, long address, boolean perCpu) {
  public boolean isText() {
    return type == 'T' || type == 't' || type == 'W' || type == 'w';
  }
}
