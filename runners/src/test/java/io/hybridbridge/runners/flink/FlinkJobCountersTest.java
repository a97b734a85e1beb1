package io.hybridbridge.runners.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.apache.beam.runners.core.metrics.MetricsContainerStepMap;
import org.apache.beam.sdk.metrics.MetricName;
import org.junit.jupiter.api.Test;

/**
 * Reading Beam counters out of the FlinkRunner's metrics accumulator as the REST API shows it: the text of the
 * accumulator's value ({@code MetricsContainerStepMap.toString()}, which is what Flink's REST API prints).
 */
class FlinkJobCountersTest {
  @Test
  void countersOfOneNamespaceAreSummedOverSteps() throws Exception {
    MetricsContainerStepMap metrics = new MetricsContainerStepMap();
    metrics.getContainer("Scan/Inspect/Run tools").getCounter(MetricName.named("hb.scan", "ok_fast")).inc(3);
    metrics.getContainer("Scan/Retrain/Slow path").getCounter(MetricName.named("hb.scan", "ok_fast")).inc(4);
    metrics.getContainer("Scan/Retrain/Slow path").getCounter(MetricName.named("hb.scan", "ok_slow")).inc(300);
    metrics.getContainer("Scan/Identify").getCounter(MetricName.named("other", "ok_fast")).inc(1000);
    metrics.getContainer("Scan/Identify").getDistribution(MetricName.named("hb.scan", "wall")).update(5);

    assertThat(FlinkJobCounters.counters(metrics.toString(), "hb.scan"))
        .isEqualTo(Map.of("ok_fast", 7L, "ok_slow", 300L));
    assertThat(FlinkJobCounters.counters(new MetricsContainerStepMap().toString(), "hb.scan")).isEmpty();
  }
}
