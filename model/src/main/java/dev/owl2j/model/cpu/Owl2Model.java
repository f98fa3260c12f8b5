package dev.owl2j.model.cpu;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.Settings;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.tensor.Tensor;

import java.util.List;
import java.util.function.Function;

/**
 * mPLUG-Owl2 on the CPU (docs/model.md, Data flow): {@link #encodeImage} turns preprocessed pixels into 65 visual tokens
 * (vision encoder + visual abstractor); a {@link Session} splices them into a prompt and runs the decoder
 * with a KV cache.
 */
public final class Owl2Model {
    private final Owl2Config cfg;
    private final VisionEncoder visionEncoder;
    private final VisualAbstractor visualAbstractor;
    private final Owl2Decoder decoder;
    private final int prefillChunk;

    private Owl2Model(Owl2Config cfg, VisionEncoder visionEncoder, VisualAbstractor visualAbstractor, Owl2Decoder decoder,
                      int prefillChunk) {
        this.cfg = cfg;
        this.prefillChunk = prefillChunk;
        this.visionEncoder = visionEncoder;
        this.visualAbstractor = visualAbstractor;
        this.decoder = decoder;
    }

    /**
     * Builds the model over the checkpoint's tensors (kept in their stored dtype; matrices wrapped by
     * linearFactory, e.g. {@code SimpleLinear::new}). Missing or misshapen tensors raise an Owl2jException
     * naming the tensor.
     */
    public static Owl2Model load(TensorSource weights, Owl2Config cfg, Function<Tensor, Linear> linearFactory) {
        return load(weights, cfg, linearFactory, Settings.fromSystem().prefillChunk());
    }

    /**
     * {@link #load(TensorSource, Owl2Config, Function)} running prompts through the decoder at most
     * {@code prefillChunk} positions at a time ({@link Settings#prefillChunk}).
     */
    public static Owl2Model load(TensorSource weights, Owl2Config cfg, Function<Tensor, Linear> linearFactory, int prefillChunk) {
        if (prefillChunk < 1) throw new IllegalArgumentException("prefill chunk " + prefillChunk);
        Weights w = new Weights(weights, ExpectedTensors.forConfig(cfg), linearFactory);
        VisionEncoder vision = new VisionEncoder(w, cfg.vision());
        VisualAbstractor abstractor = new VisualAbstractor(w, cfg.abstractor(), cfg.vision().seqLen(), cfg.hiddenSize());
        Owl2Decoder decoder = new Owl2Decoder(w, cfg);
        return new Owl2Model(cfg, vision, abstractor, decoder, prefillChunk);
    }

    public Owl2Config config() {
        return cfg;
    }

    /** Prompt positions per decoder pass; longer prompts run in chunks over the same cache. */
    int prefillChunk() {
        return prefillChunk;
    }

    public VisionEncoder visionEncoder() {
        return visionEncoder;
    }

    public VisualAbstractor visualAbstractor() {
        return visualAbstractor;
    }

    public Owl2Decoder decoder() {
        return decoder;
    }

    /** Floats of one preprocessed image: 3 × 448 × 448 for the release. */
    public int pixelCount() {
        return visionEncoder.pixelCount();
    }

    /** The visual tokens of one image, [65, hidden] (visual_fc outputs then vit_eos). */
    public float[] encodeImage(float[] pixelValues) {
        return encodeImage(pixelValues, Trace.NONE);
    }

    public float[] encodeImage(float[] pixelValues, Trace trace) {
        float[] features = visionEncoder.forward(pixelValues, trace);
        return visualAbstractor.forward(features, trace);
    }

    /** Embeds a prompt chunk and splices the images in (docs/model.md, Splice). */
    public SplicedInput splice(int[] ids, List<float[]> imageTokens) {
        return SplicedInput.of(ids, imageTokens, decoder, cfg.tokensPerImage());
    }

    /** A new conversation limited to max_position_embeddings positions, images' 65 each included. */
    public Session newSession() {
        return newSession(cfg.maxPositionEmbeddings(), Trace.NONE);
    }

    public Session newSession(Trace trace) {
        return newSession(cfg.maxPositionEmbeddings(), trace);
    }

    public Session newSession(int maxLength, Trace trace) {
        if (maxLength <= 0) {
            throw new Owl2jException("context length must be positive, got " + maxLength);
        }
        return new Session(this, decoder.newCache(maxLength), trace);
    }

    /**
     * One decode step for several sessions of this model at once (continuous batching): tokens[i] is
     * appended to sessions.get(i). Equals calling each session's {@link Session#step} up to float rounding,
     * but reads the weights once per batch instead of once per session.
     *
     * @return the next-token logits of each session, [sessions.size()][vocab]
     */
    public float[][] stepBatch(List<Session> sessions, int[] tokens) {
        if (sessions.size() != tokens.length) {
            throw new IllegalArgumentException(sessions.size() + " sessions but " + tokens.length + " tokens");
        }
        KVCache[] caches = new KVCache[tokens.length];
        for (int i = 0; i < caches.length; i++) {
            caches[i] = sessions.get(i).cache();
        }
        return decoder.stepBatch(tokens, caches);
    }
}
