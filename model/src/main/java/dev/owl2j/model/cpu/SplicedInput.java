package dev.owl2j.model.cpu;

import dev.owl2j.model.host.Splice;

import java.util.List;

/**
 * The decoder input of a prompt chunk (docs/model.md, Splice): text ids embedded with embed_tokens, each image sentinel
 * -200 replaced by the next image's 65 visual tokens, and the modality indicator of every position
 * (0 text, 1 visual — all 65 positions of an image, vit_eos included).
 *
 * @param embeds   [length, hidden]
 * @param modality [length]
 */
public record SplicedInput(float[] embeds, int[] modality, int length) {
    /** The sentinel id of an image placeholder in a prompt (IMAGE_TOKEN_INDEX of the reference). */
    public static final int IMAGE_TOKEN_INDEX = Splice.IMAGE_TOKEN_INDEX;

    static SplicedInput of(int[] ids, List<float[]> images, Owl2Decoder decoder, int tokensPerImage) {
        int hidden = decoder.hiddenSize();
        int[] floats = new int[images.size()];
        for (int i = 0; i < floats.length; i++) floats[i] = images.get(i).length;
        Splice plan = Splice.plan(ids, floats, tokensPerImage, hidden, decoder.vocabSize());
        float[] embeds = new float[plan.length() * hidden];
        for (int pos = 0; pos < plan.length(); pos++) {
            if (plan.ids()[pos] >= 0) {
                decoder.embed(plan.ids()[pos], embeds, pos * hidden);
            } else {
                System.arraycopy(images.get(plan.image()[pos]), plan.row()[pos] * hidden, embeds, pos * hidden, hidden);
            }
        }
        return new SplicedInput(embeds, plan.modality(), plan.length());
    }
}
