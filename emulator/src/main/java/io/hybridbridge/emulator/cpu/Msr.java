package io.hybridbridge.emulator.cpu;

/** Numbers of the model-specific registers the system instructions use. */
public final class Msr {
  public static final int EFER = 0xC0000080;
  public static final int STAR = 0xC0000081;
  public static final int LSTAR = 0xC0000082;
  public static final int CSTAR = 0xC0000083;
  public static final int FMASK = 0xC0000084;
  public static final int FS_BASE = 0xC0000100;
  public static final int GS_BASE = 0xC0000101;
  public static final int KERNEL_GS_BASE = 0xC0000102;
  public static final int TSC_AUX = 0xC0000103;

  private Msr() {}
}
