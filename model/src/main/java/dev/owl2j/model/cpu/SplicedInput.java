package dev.owl2j.model.cpu;

import dev.owl2j.model.Owl2jException;

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
    public static final int IMAGE_TOKEN_INDEX = -200;

    static SplicedInput of(int[] ids, List<float[]> images, Owl2Decoder decoder, int tokensPerImage) {
        int hidden = decoder.hiddenSize();
        int placeholders = 0;
        for (int id : ids) {
            if (id == IMAGE_TOKEN_INDEX) placeholders++;
        }
        if (placeholders != images.size()) {
            throw new Owl2jException("the prompt has " + placeholders + " image placeholder(s) but "
                    + images.size() + " image(s) were given");
        }
        if (ids.length == 0) {
            throw new Owl2jException("the prompt is empty");
        }
        for (int i = 0; i < images.size(); i++) {
            if (images.get(i).length != tokensPerImage * hidden) {
                throw new Owl2jException("image " + i + " has " + images.get(i).length + " visual-token floats, expected "
                        + tokensPerImage + "x" + hidden);
            }
        }
        int length = ids.length - placeholders + placeholders * tokensPerImage;
        float[] embeds = new float[length * hidden];
        int[] modality = new int[length];
        int pos = 0;
        int image = 0;
        for (int id : ids) {
            if (id == IMAGE_TOKEN_INDEX) {
                // The k-th placeholder takes the k-th image, in order of appearance.
                System.arraycopy(images.get(image++), 0, embeds, pos * hidden, tokensPerImage * hidden);
                java.util.Arrays.fill(modality, pos, pos + tokensPerImage, 1);
                pos += tokensPerImage;
            } else {
                decoder.embed(id, embeds, pos * hidden);
                pos++;
            }
        }
        return new SplicedInput(embeds, modality, length);
    }
}
