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

  public KernelIdentity identity() {
    return identity;
  }
}
