package io.hybridbridge.datasets;

/** The file formats of a dataset's fleet snapshots. */
public enum SnapshotFormats {
  /**
   * The default dataset: odd-numbered dumps of a boot QEMU ELF cores, even-numbered ones kdump-zlib, and one
   * ELF twin of the first kdump of each build, so readers can be compared page for page across formats.
   */
  ALTERNATING,
  /** A fleet: every snapshot kdump-zlib (≈1/5 of an ELF core here), no twins (a twin is not a distinct moment). */
  KDUMP;

  GuestVm.DumpFormat formatOfDump(int dump) {
    return this == KDUMP || dump % 2 == 0 ? GuestVm.DumpFormat.KDUMP : GuestVm.DumpFormat.ELF;
  }

  boolean twinOf(int boot, int dump) {
    return this == ALTERNATING && boot == 1 && dump == 2;
  }
}
