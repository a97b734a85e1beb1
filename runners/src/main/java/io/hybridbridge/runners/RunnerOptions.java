package io.hybridbridge.runners;

import org.apache.beam.runners.direct.DirectOptions;
import org.apache.beam.runners.flink.FlinkPipelineOptions;

/**
 * The options every Hybrid-Bridge job accepts to choose where it runs, in Beam's {@code --name=value} form:
 * <ul>
 *   <li>{@code --runner=DirectRunner} (default): embedded, in this JVM;
 *   <li>{@code --runner=FlinkRunner --flinkMaster=[local]} (or {@code [auto]}): an embedded Flink mini-cluster;
 *   <li>{@code --runner=FlinkRunner --flinkMaster=host:port}: a remote Flink 1.19 cluster's REST endpoint (for
 *       example the one {@code hb flink start} runs); the shaded jar is staged as the job's code unless
 *       {@code --filesToStage} names other files;
 *   <li>{@code --parallelism=N}: the job's parallelism on either runner (default: the runner's own).
 * </ul>
 * Everything else of {@link FlinkPipelineOptions} and {@link DirectOptions} is accepted as well; options made by
 * {@link Runners#options} skip the Direct runner's per-element test checks unless {@code --enforceImmutability} or
 * {@code --enforceEncodability} is given.
 */
public interface RunnerOptions extends FlinkPipelineOptions, DirectOptions {}
