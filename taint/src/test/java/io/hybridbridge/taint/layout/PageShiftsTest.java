package io.hybridbridge.taint.layout;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PageShiftsTest {
  @Test
  void aPageIsHeldUntilAnotherPageTakesItsSlot() {
    PageShifts shifts = new PageShifts(true);
    long page = 0xffff888000123000L;
    assertThat(shifts.shift(page + 8)).isEqualTo(PageShifts.NONE);
    assertThat(shifts.remember(page + 8, page + 8 - 0x1000)).isEqualTo(page + 8 - 0x1000);
    assertThat(shifts.shift(page)).isEqualTo(-0x1000);
    assertThat(shifts.shift(page + 0xfff)).isEqualTo(-0x1000);
    assertThat(shifts.shift(page + 0x1000)).as("the next page").isEqualTo(PageShifts.NONE);
    shifts.remember(page + (256L << 12), page); // the same slot
    assertThat(shifts.shift(page)).isEqualTo(PageShifts.NONE);
    assertThat(shifts.shift(page + (256L << 12) + 5)).isEqualTo(-(256L << 12));
    shifts.remember(0, Long.MIN_VALUE); // a shift that reads as NONE is not remembered
    assertThat(shifts.shift(0)).isEqualTo(PageShifts.NONE);
  }

  @Test
  void shiftsOfAFunctionThatDoesNotMovePagesAlikeAreNotRemembered() {
    PageShifts shifts = new PageShifts(false);
    assertThat(shifts.remember(0x5008, 0x9008)).isEqualTo(0x9008);
    assertThat(shifts.shift(0x5000)).isEqualTo(PageShifts.NONE);
  }
}
