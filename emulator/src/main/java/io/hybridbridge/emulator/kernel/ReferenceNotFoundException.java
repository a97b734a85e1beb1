package io.hybridbridge.emulator.kernel;

import java.nio.file.Path;

/** No trusted reference of a snapshot's exact kernel build: the snapshot cannot be inspected. */
public class ReferenceNotFoundException extends Exception {
  private final KernelIdentity identity;

  public ReferenceNotFoundException(KernelIdentity identity, Path dataset) {
    super(String.format("no reference for kernel build %s (build-id %s, banner \"%s\") in %s",
        identity.buildName(), identity.buildId(), identity.banner(), dataset));
    this.identity = identity;
  }

  /** The build has references in {@code dataset}, none of which fits, for the reason {@code why}. */
  public ReferenceNotFoundException(KernelIdentity identity, Path dataset, String why) {
    super(String.format("no reference fits this snapshot of kernel build %s (build-id %s) in %s: %s",
        identity.buildName(), identity.buildId(), dataset, why));
    this.identity = identity;
  }

  public KernelIdentity identity() {
    return identity;
  }
}
