package io.hybridbridge.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import io.hybridbridge.schemas.ScanTarget;
import io.hybridbridge.schemas.StatusRow;
import java.util.Map;
import org.apache.beam.sdk.coders.Coder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.testing.CoderProperties;
import org.apache.beam.sdk.util.CoderUtils;
import org.apache.beam.sdk.util.SerializableUtils;
import org.junit.jupiter.api.Test;

/** The records' coder: AvroCoder's bytes, but a fraction of its size when the coder itself is serialized. */
class RecordCoderTest {
  private static final ScanTarget TARGET = ScanTarget.newBuilder().setId("vm-1/dump1").setPath("/data/dump1.kdump")
      .setVmId("vm-1").setLabels(Map.of("zone", "a")).build();

  @Test
  void recordsRoundTripAsAvroCodesThem() throws Exception {
    RecordCoder<ScanTarget> coder = RecordCoder.of(ScanTarget.class);
    CoderProperties.coderDecodeEncodeEqual(coder, TARGET);
    assertThat(CoderUtils.encodeToByteArray(coder, TARGET))
        .isEqualTo(CoderUtils.encodeToByteArray(AvroCoder.of(ScanTarget.class), TARGET));
    assertThat(coder.schema()).isEqualTo(ScanTarget.getClassSchema());
  }

  @Test
  void theCoderSerializesAsItsClassNotItsSchema() throws Exception {
    RecordCoder<StatusRow> coder = RecordCoder.of(StatusRow.class);
    CoderProperties.coderSerializable(coder);
    Coder<?> copy = SerializableUtils.clone(coder);
    assertThat(copy).isEqualTo(coder).hasSameHashCodeAs(coder).isNotEqualTo(RecordCoder.of(ScanTarget.class));
    int ours = SerializableUtils.serializeToByteArray(coder).length;
    int avro = SerializableUtils.serializeToByteArray(AvroCoder.of(StatusRow.class)).length;
    System.out.printf("FIGURE serialized coder of StatusRow: %d bytes, AvroCoder's %d%n", ours, avro);
    assertThat(ours * 3).isLessThan(avro);
  }
}
