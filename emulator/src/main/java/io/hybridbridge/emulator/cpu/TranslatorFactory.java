package io.hybridbridge.emulator.cpu;

import io.hybridbridge.emulator.memory.AddressTranslator;

/**
 * Page-table roots to translators: called when the CPU loads CR3 (e.g. the kernel's PTI switch between its
 * user and kernel page tables), with the whole CR3 value (PCID and flag bits included).
 */
@FunctionalInterface
public interface TranslatorFactory {
  AddressTranslator forCr3(long cr3);
}
