package io.hybridbridge.emulator.decode;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/** Every field the binding reads, checked on instructions whose decoding is known. */
class X86DecoderTest {
  private static Instruction decode(String hex, long pc) throws DecodeException {
    byte[] b = HexFormat.of().parseHex(hex.replace(" ", ""));
    try (X86Decoder d = X86Decoder.open()) {
      return d.decode(pc, b, 0, b.length);
    }
  }

  /** The library is bound while any decoder is open, and bound again by the next one after the last closed. */
  @Test
  void decodersOpenAndCloseInAnyOrder() throws Exception {
    byte[] addEax = {0x05, 0x01, 0x00, 0x00, 0x00};
    X86Decoder first = X86Decoder.open();
    X86Decoder second = X86Decoder.open();
    first.close();
    first.close(); // twice: counted once
    assertThat(second.decode(0, addEax, 0, addEax.length).text).isEqualTo("add eax, 1");
    assertThatThrownBy(() -> first.decode(0, addEax, 0, addEax.length)).isInstanceOf(IllegalStateException.class);
    second.close();
    try (X86Decoder third = X86Decoder.open()) {
      assertThat(third.decode(0, addEax, 0, addEax.length).operandCount).isEqualTo(2);
    }
  }

  @Test
  void memoryOperandWithSegmentBaseIndexScaleDisplacement() throws Exception {
    Instruction i = decode("65 48 8b 44 8b 10", 0x1000); // mov rax, qword ptr gs:[rbx+rcx*4+0x10]
    assertThat(i.mnemonic).isEqualTo(Mnemonic.MOV);
    assertThat(i.length).isEqualTo((byte) 6);
    assertThat(i.operandSize).isEqualTo((byte) 8);
    assertThat(i.op0).isEqualTo(Operand.register(Reg.RAX, 8, false));
    assertThat(i.op1).isEqualTo(Operand.memory(8, Reg.GS, Reg.RBX, Reg.RCX, 4, 0x10, false));
    assertThat(i.memoryIndex).isEqualTo((byte) 1);
    assertThat(i.memoryRole).isEqualTo(MemoryRole.READ);
    Instruction lea = decode("48 8d 44 8b 10", 0x1000); // lea rax, [rbx+rcx*4+0x10]: reads nothing
    assertThat(lea.memoryIndex).isEqualTo((byte) 1);
    assertThat(lea.memoryRole).isEqualTo(MemoryRole.ADDRESS_ONLY);
  }

  @Test
  void prefixesImmediatesHighBytesAndRelativeTargets() throws Exception {
    Instruction lock = decode("f0 48 0f b1 0f", 0); // lock cmpxchg qword ptr [rdi], rcx
    assertThat(lock.mnemonic).isEqualTo(Mnemonic.CMPXCHG);
    assertThat(lock.hasPrefix(Instruction.LOCK)).isTrue();
    assertThat(lock.memoryRole).isEqualTo(MemoryRole.READ_WRITE);
    Instruction rep = decode("f3 48 a5", 0); // rep movsq
    assertThat(rep.mnemonic).isEqualTo(Mnemonic.MOVS);
    assertThat(rep.hasPrefix(Instruction.REP)).isTrue();
    assertThat(rep.operandSize).isEqualTo((byte) 8);
    assertThat(decode("66 f3 a5", 0).operandSize).isEqualTo((byte) 2); // rep movsw as GNU as emits it
    Instruction add = decode("48 83 c0 ff", 0); // add rax, -1
    assertThat(add.op1).isEqualTo(Operand.immediate(-1, 8));
    Instruction ah = decode("88 fc", 0); // mov ah, bh
    assertThat(ah.op0).isEqualTo(Operand.register(Reg.RAX, 1, true));
    assertThat(ah.op1).isEqualTo(Operand.register(Reg.RBX, 1, true));
    Instruction jne = decode("0f 85 10 00 00 00", 0xffffffff81000000L);
    assertThat(jne.mnemonic).isEqualTo(Mnemonic.JCC);
    assertThat(jne.condition).isEqualTo((byte) 5);
    assertThat(jne.op0).isEqualTo(Operand.relative(0x10)); // position-independent
    Instruction rip = decode("48 8b 05 00 01 00 00", 0x5000); // mov rax, [rip+0x100]
    assertThat(rip.op1).isEqualTo(Operand.memory(8, Reg.NONE, Reg.RIP, Reg.NONE, 1, 0x100, false));
    Instruction cr3 = decode("0f 22 d8", 0); // mov cr3, rax
    assertThat(cr3.op0).isEqualTo(Operand.controlRegister(3));
    assertThat(decode("48 0f 07", 0).rexW).isTrue(); // sysretq
    assertThat(decode("0f 07", 0).rexW).isFalse();
  }

  @Test
  void instructionsCapstone4GetsWrongAreDecodedByUs() throws Exception {
    Instruction rdpid = decode("f3 0f c7 f8", 0); // rdpid rax, which Capstone 4 calls rdseed
    assertThat(rdpid.mnemonic).isEqualTo(Mnemonic.RDPID);
    assertThat(rdpid.op0).isEqualTo(Operand.register(Reg.RAX, 8, false));
    assertThat(decode("f3 0f 1e fa", 0).mnemonic).isEqualTo(Mnemonic.NOP); // endbr64
  }

  @Test
  void zeroIdiomsAreMarked() throws Exception {
    assertThat(decode("31 c0", 0).zeroIdiom).isTrue(); // xor eax, eax
    assertThat(decode("48 29 c9", 0).zeroIdiom).isTrue(); // sub rcx, rcx
    assertThat(decode("31 c8", 0).zeroIdiom).isFalse(); // xor eax, ecx
  }

  @Test
  void unsupportedAndInvalidEncodings() throws Exception {
    Instruction sse = decode("0f 28 c1", 0); // movaps xmm0, xmm1
    assertThat(sse.mnemonic).isEqualTo(Mnemonic.UNSUPPORTED);
    assertThat(sse.text).isEqualTo("movaps xmm0, xmm1");
    assertThatThrownBy(() -> decode("06", 0)).isInstanceOf(DecodeException.class).hasMessageContaining("0x0");
    assertThatThrownBy(() -> decode("48 b8 11", 0)).isInstanceOf(DecodeException.class); // cut short
  }
}
