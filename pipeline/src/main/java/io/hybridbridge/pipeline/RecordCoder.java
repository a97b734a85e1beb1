package io.hybridbridge.pipeline;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;
import org.apache.avro.specific.SpecificRecord;
import org.apache.beam.sdk.coders.CustomCoder;
import org.apache.beam.sdk.extensions.avro.coders.AvroCoder;
import org.apache.beam.sdk.values.TypeDescriptor;

/**
 * Avro's binary encoding of one generated record class ({@code io.hybridbridge.schemas}), as {@link AvroCoder} codes
 * it, but Java-serialized as the class alone. The Direct runner translates a ParDo to its portable form for every
 * bundle it evaluates, Java-serializing the coder of every PCollection the ParDo touches (and of its side inputs) and
 * reading them back; an AvroCoder carries its schema, written out as JSON and parsed again each time
 * (docs/PERFORMANCE.md).
 */
public final class RecordCoder<T extends SpecificRecord> extends CustomCoder<T> {
  /** One AvroCoder per class and JVM: it is thread-safe and keeps its readers and writers. */
  private static final Map<Class<?>, AvroCoder<?>> AVRO = new ConcurrentHashMap<>();

  private final Class<T> type;

  private RecordCoder(Class<T> type) {
    this.type = type;
  }

  public static <T extends SpecificRecord> RecordCoder<T> of(Class<T> type) {
    return new RecordCoder<>(type);
  }

  @SuppressWarnings("unchecked")
  private AvroCoder<T> avro() {
    return (AvroCoder<T>) AVRO.computeIfAbsent(type, AvroCoder::of);
  }

  @Override
  public void encode(T value, OutputStream out) throws IOException {
    avro().encode(value, out);
  }

  @Override
  public T decode(InputStream in) throws IOException {
    return avro().decode(in);
  }

  @Override
  public void verifyDeterministic() throws NonDeterministicException {
    avro().verifyDeterministic();
  }

  /** The schema of the records. */
  public Schema schema() {
    return avro().getSchema();
  }

  @Override
  public TypeDescriptor<T> getEncodedTypeDescriptor() {
    return TypeDescriptor.of(type);
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof RecordCoder<?> coder && coder.type.equals(type);
  }

  @Override
  public int hashCode() {
    return type.hashCode();
  }

  @Override
  public String toString() {
    return "RecordCoder(" + type.getSimpleName() + ")";
  }
}
