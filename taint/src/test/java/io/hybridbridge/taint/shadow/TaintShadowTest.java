package io.hybridbridge.taint.shadow;

import static io.hybridbridge.taint.shadow.TaintShadow.BYTES;
import static io.hybridbridge.taint.shadow.TaintShadow.POINTER;
import static io.hybridbridge.taint.shadow.TaintShadow.REGION_BASE;
import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.emulator.cpu.ShadowOp;
import org.junit.jupiter.api.Test;

/** The taint domain's rules, one by one, without a CPU. */
class TaintShadowTest {
  private final TaintShadow t = new TaintShadow(() -> -1L, 0x1000);

  @Test
  void bytewiseOpsKeepPositionsAndAdditionsCarryUpward() {
    assertThat(t.combine(ShadowOp.AND, 8, 0x01, 0x10)).isEqualTo(0x11);
    assertThat(t.combine(ShadowOp.ADD, 8, 0x04, 0)).isEqualTo(0xfc);
    assertThat(t.combine(ShadowOp.ADD, 4, 0x02, 0)).isEqualTo(0x0e);
    assertThat(t.combine(ShadowOp.MUL, 2, 0x01, 0)).isEqualTo(0x03);
    assertThat(t.combine(ShadowOp.BSWAP, 4, 0x01, 0)).isEqualTo(0x08);
    assertThat(t.combine(ShadowOp.SHIFT_LEFT, 8, 0x02, 0)).isEqualTo(0xfe);
    assertThat(t.combine(ShadowOp.SHIFT_RIGHT, 8, 0x04, 0)).isEqualTo(0x07);
    assertThat(t.combine(ShadowOp.SHIFT_RIGHT, 8, 0x01, 0x01)).as("a tainted count").isEqualTo(0xff);
  }

  @Test
  void cleanOperandsGiveACleanResultWhateverTheOp() {
    for (ShadowOp op : ShadowOp.values()) {
      assertThat(t.combine(op, 8, 0, 0)).as(op.name()).isZero();
    }
    assertThat(t.combine(ShadowOp.SUB, 8, 0, REGION_BASE)).as("T's own arithmetic on a region base").isZero();
  }

  @Test
  void pointerProvenanceSurvivesOffsetsMasksAndShiftsButNotDifferencesOrProducts() {
    long p = BYTES | POINTER;
    assertThat(t.combine(ShadowOp.ADD, 8, p, 0)).isEqualTo(p);
    assertThat(t.combine(ShadowOp.AND, 8, p, 0)).isEqualTo(p);
    assertThat(t.combine(ShadowOp.SUB, 8, p, 0)).isEqualTo(p);
    assertThat(t.combine(ShadowOp.SHIFT_RIGHT, 8, p, 0)).isEqualTo(p);
    assertThat(t.combine(ShadowOp.SUB, 8, p, p)).as("pointer difference").isEqualTo(BYTES);
    assertThat(t.combine(ShadowOp.SUB, 8, 0, p)).as("end - pointer").isEqualTo(BYTES);
    assertThat(t.combine(ShadowOp.MUL, 8, p, 0)).isEqualTo(BYTES);
    assertThat(t.combine(ShadowOp.ADD, 4, p, 0)).as("32-bit").isEqualTo(0x0f);
  }

  @Test
  void aRegionBasePlusUDataIsAUPointer() {
    assertThat(t.combine(ShadowOp.ADD, 8, REGION_BASE, 0xff)).isEqualTo(BYTES | POINTER);
    assertThat(t.combine(ShadowOp.ADDRESS, 8, 0x0f, REGION_BASE)).isEqualTo(0xff | POINTER);
    assertThat(t.combine(ShadowOp.ADD, 8, REGION_BASE, 0)).isZero();
  }

  @Test
  void registerWritesZeroExtendAtFourBytesAndKeepTheRestBelow() {
    t.setRegister(0, 0, 8, BYTES | POINTER);
    assertThat(t.register(0, 0, 8)).isEqualTo(BYTES | POINTER);
    t.setRegister(0, 0, 1, 0); // mov al, 0: the maple tree's tag byte
    assertThat(t.register(0, 0, 8)).isEqualTo(0xfe | POINTER);
    t.setRegister(0, 1, 1, 0); // ah
    assertThat(t.register(0, 0, 8)).isEqualTo(0xfc | POINTER);
    t.setRegister(0, 0, 4, 0x0f);
    assertThat(t.register(0, 0, 8)).as("32-bit write: no pointer, upper bytes clean").isEqualTo(0x0f);
    assertThat(t.register(0, 1, 1)).isEqualTo(1);
  }

  @Test
  void extensionAndSlices() {
    assertThat(t.extend(0x01, 1, 8, false)).isEqualTo(0x01);
    assertThat(t.extend(0x01, 1, 8, true)).isEqualTo(0xff);
    assertThat(t.extend(0x01, 2, 8, true)).as("sign byte clean").isEqualTo(0x01);
    assertThat(t.slice(0xf0, 4, 4)).isEqualTo(0x0f);
  }

  @Test
  void flagsTaintSetccButControlDependenceIsIgnored() {
    t.setFlags(0x01);
    assertThat(t.fromFlags(1)).isEqualTo(1);
    t.setFlags(0);
    assertThat(t.fromFlags(8)).isZero();
  }

  @Test
  void trustedMemoryKeepsByteTaintAndPointerSlots() {
    t.taintMemory(0x2000, 8, BYTES | POINTER);
    assertThat(t.memoryShadow(0x2000, 8)).isEqualTo(BYTES | POINTER);
    assertThat(t.memoryShadow(0x2002, 2)).isEqualTo(0x03);
    assertThat(t.memoryShadow(0x2004, 8)).as("unaligned: no pointer").isEqualTo(0x0f);
    t.taintMemory(0x2ffc, 8, 0xff); // across a page
    assertThat(t.memoryShadow(0x2ffc, 8)).isEqualTo(0xff);
    assertThat(t.memoryShadow(0x3000, 4)).isEqualTo(0x0f);
    assertThat(t.memoryShadow(0x5000, 8)).isZero();
    t.reset();
    assertThat(t.memoryShadow(0x2000, 8)).isZero();
  }
}
