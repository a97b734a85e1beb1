package io.hybridbridge.emulator.tools;

/** Who a row is about: every row names its snapshot, VM and kernel build so analysts can join tables. */
public record RowContext(String snapshotId, String vmId, String kernelBuild) {}
