package io.hybridbridge.emulator.kernel;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ProfileTest {
  /** A kallsyms excerpt of a boot with slide 0x1f000000, in the kernel's own format (order as printed). */
  static final String KALLSYMS = String.join("\n",
      "0000000000000000 A fixed_percpu_data",
      "0000000000000000 A __per_cpu_start",
      "000000000001f3c0 A current_task",
      "0000000000034000 A __per_cpu_end",
      "ffffffffa0000000 T _text",
      "ffffffffa0000000 T _stext",
      "ffffffffa0000100 t startup_64",
      "ffffffffa0001000 T do_one_initcall",
      "ffffffffa0001000 T __do_one_initcall_alias",
      "ffffffffa0c00080 T entry_SYSCALL_64",
      "ffffffffa0e01ef2 T _etext",
      "ffffffffa1000000 D __start_rodata",
      "ffffffffa111fb60 D linux_banner",
      "ffffffffa1200000 R __start___ex_table",
      "ffffffffa1208000 R __stop___ex_table",
      "ffffffffa1300000 R __start___bug_table",
      "ffffffffa1310000 R __stop___bug_table",
      "ffffffffa1400000 D __end_rodata",
      "ffffffffa1400000 D __start_ro_after_init",
      "ffffffffa13973e0 D page_offset_base",
      "ffffffffa1480000 D __end_ro_after_init",
      "ffffffffa1600000 D _sdata",
      "ffffffffa1700000 D _edata",
      "ffffffffa1800000 T __init_begin",
      "ffffffffa1900000 T __init_end",
      "ffffffffa1a00000 B __bss_start",
      "ffffffffa1b00000 B __bss_stop",
      "ffffffffa1c00000 B _end",
      "ffffffffc0a01000 t isofs_mount\t[isofs]",
      "ffffffffc0a02000 T cdrom_open\t[cdrom]",
      "");

  static Profile parse(String text) throws Exception {
    return Profile.parse(new ByteArrayInputStream(text.getBytes(StandardCharsets.ISO_8859_1)), "test-kallsyms");
  }

  @Test
  void symbolsAreKaslrFreeAndPerCpuSymbolsStayOffsets() throws Exception {
    Profile p = parse(KALLSYMS);
    assertThat(p.referenceSlide()).isEqualTo(0x1f000000L);
    assertThat(p.address("_text")).hasValue(0xffffffff81000000L);
    assertThat(p.address("entry_SYSCALL_64")).hasValue(0xffffffff81c00080L);
    assertThat(p.address("current_task")).hasValue(0x1f3c0L);
    assertThat(p.symbols("current_task").get(0).perCpu()).isTrue();
    assertThat(p.address("isofs_mount")).isEmpty();
    assertThat(p.moduleSymbolsSkipped()).isEqualTo(2);
  }

  @Test
  void pcToFunctionPrefersTextSymbolsAndReportsOffsets() throws Exception {
    Profile p = parse(KALLSYMS);
    assertThat(p.symbolAt(0xffffffff81c00085L)).hasValueSatisfying(s -> assertThat(s.toString())
        .isEqualTo("entry_SYSCALL_64+0x5"));
    assertThat(p.symbolAt(0xffffffff81001000L).get().symbol().name()).isIn("do_one_initcall",
        "__do_one_initcall_alias");
    assertThat(p.symbolAt(0xffffffff80000000L)).isEmpty();
  }

  @Test
  void sectionBoundsForTheTaintPolicy() throws Exception {
    Profile p = parse(KALLSYMS);
    assertThat(p.text().start()).isEqualTo(0xffffffff81000000L);
    assertThat(p.text().end()).isEqualTo(0xffffffff81e01ef2L);
    assertThat(p.rodata().contains(0xffffffff8211fb60L)).isTrue(); // linux_banner
    assertThat(p.roAfterInit().contains(p.address("page_offset_base").getAsLong())).isFalse();
    assertThat(p.data().size()).isEqualTo(0x100000);
    assertThat(p.bss().start()).isEqualTo(0xffffffff82a00000L);
    assertThat(p.perCpu().contains(0x1f3c0)).isTrue();
    assertThat(p.exceptionTable().size()).isEqualTo(0x8000);
    assertThat(p.bugTable().size()).isEqualTo(0x10000);
    assertThat(p.init().start()).isEqualTo(0xffffffff82800000L);
  }

  @Test
  void garbageIsRefusedWithTheLine() {
    assertThatThrownBy(() -> parse(KALLSYMS.replace("ffffffffa0001000 T do_one_initcall\n",
        "ffffffffa0001000 T do_one_initcall[    6.235818] random: crng init done\nxx\n")))
        .isInstanceOf(ProfileException.class).hasMessageContaining("line");
    assertThatThrownBy(() -> parse("hello world\n")).isInstanceOf(ProfileException.class)
        .hasMessageContaining("line 1");
    assertThatThrownBy(() -> parse("")).isInstanceOf(ProfileException.class).hasMessageContaining("_text");
  }

  @Test
  void hiddenAddressesAndMissingSectionsAreRefused() {
    assertThatThrownBy(() -> parse(KALLSYMS.replaceAll("(?m)^ffffffff[0-9a-f]{8}", "0000000000000000")))
        .isInstanceOf(ProfileException.class).hasMessageContaining("_text");
    assertThatThrownBy(() -> parse(KALLSYMS.replace("ffffffffa1b00000 B __bss_stop\n", "")))
        .isInstanceOf(ProfileException.class).hasMessageContaining("__bss_stop");
  }

  @Test
  void hugeInputsAreRefusedWithoutReadingThemWhole() {
    InputStream endlessLine = new InputStream() {
      @Override
      public int read() {
        return 'a';
      }
    };
    assertThatThrownBy(() -> Profile.parse(endlessLine, "endless")).isInstanceOf(ProfileException.class)
        .hasMessageContaining("longer than");
    InputStream endlessLines = new InputStream() {
      private final byte[] line = "ffffffffa0000000 t x\n".getBytes(StandardCharsets.US_ASCII);
      private long at;

      @Override
      public int read() {
        return line[(int) (at++ % line.length)];
      }
    };
    assertThatThrownBy(() -> Profile.parse(endlessLines, "endless")).isInstanceOf(ProfileException.class)
        .hasMessageContaining("too large");
  }
}
