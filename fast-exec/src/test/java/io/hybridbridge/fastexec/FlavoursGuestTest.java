package io.hybridbridge.fastexec;

import io.hybridbridge.schemas.ManifestEntry;
import java.nio.file.Path;
import java.util.List;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The kernel flavours the default dataset lacks (it holds 6.1 generic, 6.1 cloud and 6.12 generic), each a dataset of
 * two snapshots built by the test: every tool gives the guest's ground truth, and the fast path the slow path's rows.
 * <ul>
 *   <li><b>rt</b> (PREEMPT_RT): sleeping spinlocks, threaded interrupts and more per-CPU data. On 6.12 rt, the mm's
 *       per-CPU rss counters that /proc/&lt;pid&gt;/status sums lie in a per-CPU chunk beyond the first: ps failed on
 *       every snapshot until the slow path served T's per-CPU base plus U's {@code __percpu} offset from U's per-CPU
 *       area ({@code PER_CPU}, taint README). On rt the capture's serial port has an interrupt thread of its own,
 *       listed by the capture and gone at the dump until the guests kept the port open (datasets' {@code init}).
 *   <li><b>6.12 cloud</b>.
 * </ul>
 */
@Tag("dataset")
class FlavoursGuestTest {
  @ParameterizedTest
  @ValueSource(strings = {"6.1.0-53-rt-amd64", "6.12.95+deb12-rt-amd64", "6.12.95+deb12-cloud-amd64"})
  void theToolsGiveTheGroundTruthAndTheFastPathTheSlowPathsRows(String build, @TempDir Path out) throws Exception {
    List<ManifestEntry> snapshots = GuestInspections.build(out, build, UnaryOperator.identity());
    GuestInspections.run(out, snapshots).assertAllRight(build + " guests");
  }
}
