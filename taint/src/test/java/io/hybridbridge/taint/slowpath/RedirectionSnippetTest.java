package io.hybridbridge.taint.slowpath;

import static io.hybridbridge.taint.testing.SyntheticKernel.T_LAYOUT;
import static io.hybridbridge.taint.testing.SyntheticKernel.T_UNITS;
import static io.hybridbridge.taint.testing.SyntheticKernel.U_LAYOUT;
import static io.hybridbridge.taint.testing.SyntheticKernel.U_UNITS;
import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.cpu.Stop;
import io.hybridbridge.emulator.decode.Reg;
import io.hybridbridge.schemas.RedirectDecision;
import io.hybridbridge.taint.metadata.Metadata;
import io.hybridbridge.taint.testing.SyntheticKernel;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The slow path's decisions on small assembled snippets run by the CPU over two boots of a made-up kernel
 * ({@link SyntheticKernel}): each rule of the policy and of U-through-T's layout, with the case that needs it.
 */
class RedirectionSnippetTest {
  private static final long T_OBJECT = T_LAYOUT.pageOffsetBase() + 0x500000;
  private static final long U_OBJECT = U_LAYOUT.pageOffsetBase() + 0x600000;
  /** Where T's code sees U's object: U's physical address in T's direct map. */
  private static final long U_OBJECT_SEEN = T_LAYOUT.pageOffsetBase() + 0x600000;

  private static String hex(long v) {
    return "0x" + Long.toHexString(v);
  }

  /** `modules` points at an object in each boot: T's at T_OBJECT, U's at U_OBJECT. */
  private static SyntheticKernel kernelWithModules() throws Exception {
    SyntheticKernel k = new SyntheticKernel();
    k.tImage.putLong(k.symbol("modules", T_LAYOUT), T_OBJECT);
    k.uImage.putLong(k.symbol("modules", U_LAYOUT), U_OBJECT);
    k.tImage.putLong(T_OBJECT + 8, 0x9999);
    k.uImage.putLong(U_OBJECT + 8, 0x1234);
    return k;
  }

  private static RedirectDecision decisionAt(SyntheticKernel k, long textOffset, int operand) {
    return Metadata.of(new Metadata.Run("b", "id", "t", "r", "s", 0), k.log).getEntries().stream()
        .filter(e -> e.getPcOffset() == SyntheticKernel.LINK_TEXT + textOffset && e.getOperand() == operand)
        .findFirst().orElseThrow(() -> new AssertionError("no entry at +" + Long.toHexString(textOffset)))
        .getDecision();
  }

  @Test
  void aSourceAndThePointersReadFromItAreRedirectedAndRebased() throws Exception {
    try (SyntheticKernel k = kernelWithModules()) {
      Stop stop = k.run(String.join("\n",
          "movabs rax, " + hex(k.symbol("modules", T_LAYOUT)), // +0: a clean address in .data: a source
          "mov rbx, [rax]", // +10: U's pointer, rebased into T's direct map
          "mov rcx, [rbx+8]", // +13: through a U pointer
          "hlt"));
      assertThat(stop.reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(k.state.get(Reg.RBX)).isEqualTo(U_OBJECT_SEEN);
      assertThat(k.state.get(Reg.RCX)).isEqualTo(0x1234); // U's value, not T's 0x9999
      assertThat(decisionAt(k, 10, 1)).isEqualTo(RedirectDecision.REDIRECT);
      assertThat(decisionAt(k, 13, 1)).isEqualTo(RedirectDecision.REDIRECT);
    }
  }

  @Test
  void theStackIsLocalEvenIndexedByUData() throws Exception {
    try (SyntheticKernel k = kernelWithModules()) {
      k.uImage.putLong(U_OBJECT + 16, 1);
      Stop stop = k.run(String.join("\n",
          "push 0x77", "push 0x66",
          "movabs rax, " + hex(k.symbol("modules", T_LAYOUT)),
          "mov rbx, [rax]",
          "mov ecx, [rbx+16]", // 1, from U
          "mov rdx, [rsp+rcx*8]", // T's stack slot 1: 0x77
          "hlt"));
      assertThat(stop.reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(k.state.get(Reg.RDX)).isEqualTo(0x77);
    }
  }

  @Test
  void perCpuContextStaysLocalAndTheGuestsPerCpuStateIsRedirected() throws Exception {
    try (SyntheticKernel k = new SyntheticKernel()) {
      k.tImage.putLong(k.perCpu("current_task", T_UNITS), 0xaaaa);
      k.uImage.putLong(k.perCpu("current_task", U_UNITS), 0xbbbb);
      k.tImage.putLong(k.perCpu("guest_counter", T_UNITS), 1);
      k.uImage.putLong(k.perCpu("guest_counter", U_UNITS), 42);
      k.uImage.putLong(U_LAYOUT.pageOffsetBase() + 0x900000 + 0x2100, 7); // U's dynamic per-CPU data
      k.uImage.putLong(U_OBJECT, 0x2100); // a __percpu offset held by a U object
      k.uImage.putLong(k.symbol("modules", U_LAYOUT), U_OBJECT);
      Stop stop = k.run(String.join("\n",
          "mov rax, gs:[0x100]", // current_task: T's
          "mov rbx, gs:[0x200]", // guest_counter: U's
          "movabs rsi, " + hex(k.symbol("modules", T_LAYOUT)),
          "mov rsi, [rsi]",
          "mov rsi, [rsi]", // 0x2100, a per-CPU offset from U (not a pointer)
          "add rsi, gs:[0x108]", // + T's this_cpu_off: T's unit, offset 0x2100
          "mov rcx, [rsi]", // U's unit at 0x2100
          "hlt"));
      assertThat(stop.reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(k.state.get(Reg.RAX)).isEqualTo(0xaaaa);
      assertThat(k.state.get(Reg.RBX)).isEqualTo(42);
      assertThat(k.state.get(Reg.RCX)).isEqualTo(7);
    }
  }

  /**
   * A {@code __percpu} offset of a chunk beyond the first (in U's vmalloc space) plus T's per-CPU base, by {@code
   * this_cpu_off} and by {@code __per_cpu_offset[0]}: T's base plus it lies in no region of T (it faulted before the
   * PER_CPU route), and is served at U's base plus the same offset.
   */
  @Test
  void aUPerCpuOffsetBeyondTheFirstChunkIsServedFromUsPerCpuArea() throws Exception {
    try (SyntheticKernel k = new SyntheticKernel()) {
      long chunk = U_LAYOUT.vmallocBase() + 0x7000; // a per-CPU chunk the kernel allocated later
      long offset = chunk - U_UNITS.base(0);
      k.uImage.map(chunk, 0x1000).putLong(chunk + 8, 0x5151);
      k.uImage.putLong(U_OBJECT, offset); // fbc->counters of a U object
      k.uImage.putLong(k.symbol("modules", U_LAYOUT), U_OBJECT);
      assertThat(T_UNITS.cpuOf(T_UNITS.base(0) + offset)).as("outside T's units").isEqualTo(-1);
      Stop stop = k.run(String.join("\n",
          "movabs rsi, " + hex(k.symbol("modules", T_LAYOUT)),
          "mov rsi, [rsi]",
          "mov rsi, [rsi]", // +13: the __percpu offset, from U
          "mov rax, gs:[0x108]", // +16: T's this_cpu_off
          "mov rbx, [rax+rsi+8]", // +25: this_cpu_ptr(offset) + 8
          "movabs rdx, " + hex(k.symbol("__per_cpu_offset", T_LAYOUT)),
          "mov rdx, [rdx]", // +40: T's __per_cpu_offset[0]
          "add rdx, rsi",
          "mov rcx, [rdx+8]", // +46: per_cpu_ptr(offset, 0) + 8
          "hlt"));
      assertThat(stop.reason()).as(stop.toString()).isEqualTo(Stop.Reason.HALTED);
      assertThat(k.state.get(Reg.RBX)).isEqualTo(0x5151);
      assertThat(k.state.get(Reg.RCX)).isEqualTo(0x5151);
      assertThat(decisionAt(k, 25, 1)).isEqualTo(RedirectDecision.PER_CPU);
      assertThat(decisionAt(k, 46, 1)).isEqualTo(RedirectDecision.PER_CPU);
      assertThat(decisionAt(k, 40, 1)).isEqualTo(RedirectDecision.LOCAL);
      assertThat(decisionAt(k, 13, 1)).isEqualTo(RedirectDecision.REDIRECT);
    }
  }

  @Test
  void zeroIdiomsClearTaint() throws Exception {
    try (SyntheticKernel k = kernelWithModules()) {
      Stop stop = k.run(String.join("\n",
          "movabs rax, " + hex(k.symbol("modules", T_LAYOUT)),
          "mov rax, [rax]", // U pointer
          "xor eax, eax", // +13: clean zero
          "movabs rbx, " + hex(T_OBJECT),
          "mov rcx, [rbx+rax+8]", // +25: T's object
          "hlt"));
      assertThat(stop.reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(k.state.get(Reg.RCX)).isEqualTo(0x9999);
      assertThat(decisionAt(k, 25, 1)).isEqualTo(RedirectDecision.LOCAL);
    }
  }

  @Test
  void aTrustedPointerAdvancedByUDataStaysLocal() throws Exception {
    // vsnprintf's put_dec_trunc8: buf += r < 10 ? 1 : 2, r from U: the buffer is still T's
    try (SyntheticKernel k = kernelWithModules()) {
      k.uImage.putLong(U_OBJECT + 16, 25);
      Stop stop = k.run(String.join("\n",
          "movabs rax, " + hex(k.symbol("modules", T_LAYOUT)),
          "mov rax, [rax]",
          "mov eax, [rax+16]", // 25, from U
          "cmp eax, 10",
          "setae dl",
          "movzx edx, dl",
          "inc rdx", // 2, tainted
          "movabs rdi, " + hex(T_OBJECT + 0x100),
          "add rdi, rdx",
          "mov byte ptr [rdi], 0x41", // T's buffer
          "mov rcx, [rdi]",
          "hlt"));
      assertThat(stop.reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(k.state.get(Reg.RCX) & 0xff).isEqualTo(0x41);
      assertThat(k.tMemory.read(T_OBJECT + 0x102, 1)).isEqualTo(0x41);
      assertThat(k.uSpace.writtenPageCount()).isZero();
    }
  }

  @Test
  void aPhysicalAddressFromUPlusARegionBaseIsAUPointer() throws Exception {
    // __va(pgd_val(*pgd) & PTE_PFN_MASK): page-table entries hold physical addresses
    try (SyntheticKernel k = kernelWithModules()) {
      k.uImage.putLong(U_OBJECT + 16, 0x700063); // an entry: physical 0x700000 | flags
      k.uImage.putLong(U_LAYOUT.pageOffsetBase() + 0x700000, 0x5555);
      k.tImage.putLong(T_LAYOUT.pageOffsetBase() + 0x700000, 0x6666);
      Stop stop = k.run(String.join("\n",
          "movabs rax, " + hex(k.symbol("modules", T_LAYOUT)),
          "mov rax, [rax]",
          "mov rax, [rax+16]",
          "and rax, -4096",
          "movabs rdx, " + hex(k.symbol("page_offset_base", T_LAYOUT)),
          "add rax, [rdx]", // T's page_offset_base + U's physical address
          "mov rcx, [rax]",
          "hlt"));
      assertThat(stop.reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(k.state.get(Reg.RCX)).isEqualTo(0x5555);
    }
  }

  @Test
  void trustedAddressArithmeticOnRegionBasesStaysLocal() throws Exception {
    // virt_to_page of T's own object: clean arithmetic on T's layout globals
    try (SyntheticKernel k = kernelWithModules()) {
      Stop stop = k.run(String.join("\n",
          "movabs rax, " + hex(T_OBJECT),
          "movabs rdx, " + hex(k.symbol("page_offset_base", T_LAYOUT)),
          "sub rax, [rdx]",
          "shr rax, 12",
          "add rax, [rdx]",
          "mov rcx, [rax+8]", // T's direct map: a clean address
          "hlt"));
      assertThat(stop.reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(k.log.redirectedAccesses()).isZero();
    }
  }

  @Test
  void aTrustedPointerStoredIntoUReadsBackAsTrusted() throws Exception {
    // proc_reg_open links T's pde_opener into U's pde->pde_openers; proc_reg_release walks it back
    try (SyntheticKernel k = kernelWithModules()) {
      Stop stop = k.run(String.join("\n",
          "movabs rax, " + hex(k.symbol("modules", T_LAYOUT)),
          "mov rax, [rax]", // U's object
          "movabs rbx, " + hex(T_OBJECT),
          "mov [rax+0x20], rbx", // a T pointer into U's copy-on-write overlay
          "mov rcx, [rax+0x20]",
          "mov rdx, [rcx+8]", // T's object: 0x9999
          "hlt"));
      assertThat(stop.reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(k.state.get(Reg.RCX)).isEqualTo(T_OBJECT);
      assertThat(k.state.get(Reg.RDX)).isEqualTo(0x9999);
      assertThat(k.uSpace.writtenPageCount()).isEqualTo(1);
      // the overlay holds the pointer in U's layout; the image itself is untouched
      assertThat(k.uImage.getLong(U_OBJECT + 0x20)).isZero();
    }
  }

  @Test
  void aHelperCalledOnTAndOnUDataIsMixedAndItsCallSitesSeparateTheCases() throws Exception {
    try (SyntheticKernel k = kernelWithModules()) {
      k.place(0x800, "mov rax, [rdi+8]\nret"); // the helper: a memcpy-like accessor
      Stop stop = k.run(String.join("\n",
          "movabs r11, " + hex(SyntheticKernel.text(0x800)),
          "movabs rdi, " + hex(T_OBJECT),
          "call r11", // T's object
          "mov r12, rax",
          "movabs rdi, " + hex(k.symbol("modules", T_LAYOUT)),
          "mov rdi, [rdi]",
          "call r11", // U's object
          "hlt"));
      assertThat(stop.reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(k.state.get(Reg.R12)).isEqualTo(0x9999);
      assertThat(k.state.get(Reg.RAX)).isEqualTo(0x1234);
      var entry = Metadata.of(new Metadata.Run("b", "id", "t", "r", "s", 0), k.log).getEntries().stream()
          .filter(e -> e.getPcOffset() == SyntheticKernel.LINK_TEXT + 0x800).findFirst().orElseThrow();
      assertThat(entry.getDecision()).isEqualTo(RedirectDecision.MIXED);
      assertThat(entry.getContexts()).hasSize(2);
      assertThat(entry.getContexts()).extracting(c -> c.getDecision())
          .containsExactlyInAnyOrder(RedirectDecision.LOCAL, RedirectDecision.REDIRECT);
    }
  }

  @Test
  void aCodePointerFromULeadingOutOfTheTextStopsTheRun() throws Exception {
    try (SyntheticKernel k = kernelWithModules()) {
      k.uImage.putLong(U_OBJECT + 0x18, k.symbol("counter", U_LAYOUT)); // an "ops" pointer into U's .data
      Stop stop = k.run(String.join("\n",
          "movabs rax, " + hex(k.symbol("modules", T_LAYOUT)),
          "mov rax, [rax]",
          "mov rax, [rax+0x18]", // rebased: T's &counter, data not code
          "call rax",
          "hlt"));
      assertThat(stop.reason()).isEqualTo(Stop.Reason.MEMORY_ERROR);
      assertThat(stop.detail()).contains("left the reference kernel's text")
          .contains(Long.toHexString(k.symbol("counter", T_LAYOUT)));
    }
  }

  @Test
  void contextVariablesInDataAreNeverRedirected() throws Exception {
    try (SyntheticKernel k = new SyntheticKernel()) {
      // names_cachep is not in the synthetic build's list unless RedirectPolicy names it: it does (6.1 VFS caches)
      k.tImage.putLong(k.symbol("names_cachep", T_LAYOUT), 0x1111);
      k.uImage.putLong(k.symbol("names_cachep", U_LAYOUT), 0x2222);
      k.tImage.putLong(k.symbol("counter", T_LAYOUT), 3);
      k.uImage.putLong(k.symbol("counter", U_LAYOUT), 4);
      Stop stop = k.run(String.join("\n",
          "movabs rax, " + hex(k.symbol("names_cachep", T_LAYOUT)),
          "mov rbx, [rax]",
          "movabs rax, " + hex(k.symbol("counter", T_LAYOUT)),
          "mov rcx, [rax]",
          "hlt"));
      assertThat(stop.reason()).isEqualTo(Stop.Reason.HALTED);
      assertThat(k.state.get(Reg.RBX)).isEqualTo(0x1111);
      assertThat(k.state.get(Reg.RCX)).isEqualTo(4);
      assertThat(k.policy.contextVariable(k.symbol("names_cachep", T_LAYOUT))).isPresent();
      assertThat(List.of(k.policy.isSource(k.symbol("after_names_cachep", T_LAYOUT)))).containsExactly(true);
    }
  }
}
