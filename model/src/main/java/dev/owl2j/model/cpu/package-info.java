/**
 * mPLUG-Owl2 forward pass on the CPU (docs/model.md), one file per component:
 * {@link dev.owl2j.model.cpu.VisionEncoder} (ViT), {@link dev.owl2j.model.cpu.VisualAbstractor}
 * (with {@link dev.owl2j.model.host.SinCosPositions}), {@link dev.owl2j.model.cpu.SplicedInput}
 * (image splice and modality indicators), {@link dev.owl2j.model.cpu.Owl2Decoder} and its
 * {@code DecoderLayer} (LLaMA-2 + Modality-Adaptive Module) over a {@link dev.owl2j.model.cpu.KVCache}.
 *
 * <p>Entry point: {@link dev.owl2j.model.cpu.Owl2Model#load} over any
 * {@link dev.owl2j.model.format.TensorSource}, with the matrix kernel chosen by a {@code Function<Tensor, Linear>}
 * ({@link dev.owl2j.model.cpu.kernel.Linears#factory} for speed, optionally quantizing the decoder;
 * {@link dev.owl2j.model.cpu.SimpleLinear} and {@link dev.owl2j.model.cpu.ReferenceLinear} are plain fallbacks); then {@code encodeImage(pixels)} per image and a
 * {@link dev.owl2j.model.cpu.Session} per conversation ({@code prefill(ids, imageTokens)}, {@code step(token)}).
 * A {@link dev.owl2j.model.cpu.Trace} receives named intermediate states for tests.
 *
 * <p>Numerics: float32 throughout, weights widened from their stored dtype; norm statistics and softmax sums in
 * double; RoPE tables computed in double. Matches the float64 oracle of the tiny fixture to ≤ 3e-6.
 */
package dev.owl2j.model.cpu;
