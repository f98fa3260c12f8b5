package dev.owl2j.model.host;

import dev.owl2j.model.Owl2jException;

import java.util.Arrays;

/**
 * Where every position of a prompt chunk comes from once its images are spliced in (docs/model.md, Splice): a
 * text token to embed, or row j of image k's visual tokens, with its modality flag (0 text, 1 visual: all 65
 * positions of an image, vit_eos included). The k-th sentinel -200 takes the k-th image. Backends fill their
 * input rows from this plan: the CPU embeds into one array, a device gathers text rows and copies image rows.
 *
 * @param ids      [length]: the text id at each text position, -1 at visual positions
 * @param image    [length]: the image index at each visual position, -1 at text positions
 * @param row      [length]: the row of that image's visual tokens, -1 at text positions
 * @param modality [length]
 */
public record Splice(int[] ids, int[] image, int[] row, int[] modality, int length) {
    /** The sentinel id of an image placeholder in a prompt (IMAGE_TOKEN_INDEX of the reference). */
    public static final int IMAGE_TOKEN_INDEX = -200;

    /**
     * Plans a chunk; a user-caused mismatch (placeholders against images, an empty prompt, an image of the wrong
     * size, an id outside the vocabulary) is an Owl2jException naming it.
     *
     * @param imageFloats the number of floats of each image's visual tokens, which must be tokensPerImage × width
     */
    public static Splice plan(int[] tokenIds, int[] imageFloats, int tokensPerImage, int width, int vocab) {
        int images = imageFloats.length;
        int placeholders = 0;
        for (int id : tokenIds) {
            if (id == IMAGE_TOKEN_INDEX) placeholders++;
        }
        if (placeholders != images) {
            throw new Owl2jException("the prompt has " + placeholders + " image placeholder(s) but " + images + " image(s) were given");
        }
        if (tokenIds.length == 0) {
            throw new Owl2jException("the prompt is empty");
        }
        for (int i = 0; i < images; i++) {
            if (imageFloats[i] != tokensPerImage * width) {
                throw new Owl2jException("image " + i + " has " + imageFloats[i] + " visual-token floats, expected "
                        + tokensPerImage + "x" + width);
            }
        }
        int length = tokenIds.length - placeholders + placeholders * tokensPerImage;
        int[] ids = new int[length], image = new int[length], row = new int[length], modality = new int[length];
        Arrays.fill(image, -1);
        Arrays.fill(row, -1);
        int pos = 0, k = 0;
        for (int id : tokenIds) {
            if (id == IMAGE_TOKEN_INDEX) {
                for (int j = 0; j < tokensPerImage; j++, pos++) {
                    ids[pos] = -1;
                    image[pos] = k;
                    row[pos] = j;
                    modality[pos] = 1;
                }
                k++;
            } else {
                checkToken(id, vocab);
                ids[pos++] = id;
            }
        }
        return new Splice(ids, image, row, modality, length);
    }

    /** Fails on a text token id outside [0, vocab). */
    public static void checkToken(int id, int vocab) {
        if (id < 0 || id >= vocab) {
            throw new Owl2jException("token id " + id + " is outside the vocabulary (0.." + (vocab - 1) + ")");
        }
    }
}
