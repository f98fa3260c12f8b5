/**
 * The CPU matrix kernels (jdk.incubator.vector, preferred species) behind {@link dev.owl2j.model.cpu.Linear}.
 * Weights stay in their stored dtype (a view into the mapped checkpoint or one off-heap quantized copy); nothing is
 * widened to an F32 copy of the model. {@link dev.owl2j.model.cpu.kernel.Linears} picks the kernel by dtype;
 * {@link dev.owl2j.model.cpu.kernel.MachinePeaks} measures the machine's bandwidth and FMA bounds for benchmarks.
 */
package dev.owl2j.model.cpu.kernel;
