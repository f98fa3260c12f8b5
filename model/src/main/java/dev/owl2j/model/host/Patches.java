package dev.owl2j.model.host;

import dev.owl2j.model.config.Owl2Config.VisionConfig;

/**
 * The patch matrix of an image for the vision tower's patch embedding (docs/model.md, Vision encoder): the
 * stride-14 convolution without bias is a matmul of this [grid², channels·14·14] matrix with the conv weight,
 * patches numbered row-major over the grid, each flattened channel, row, column like the weight.
 */
public final class Patches {
    private Patches() {}

    /** [channels, size, size] pixels (channels first) into [grid², channels·patch·patch] rows. */
    public static float[] extract(float[] px, VisionConfig cfg) {
        int size = cfg.imageSize(), grid = cfg.gridSize(), patch = cfg.patchSize(), channels = cfg.numChannels();
        int patchDim = channels * patch * patch;
        float[] out = new float[grid * grid * patchDim];
        for (int gr = 0; gr < grid; gr++) {
            for (int gc = 0; gc < grid; gc++) {
                int o = (gr * grid + gc) * patchDim;
                for (int c = 0; c < channels; c++) {
                    for (int ky = 0; ky < patch; ky++) {
                        System.arraycopy(px, (c * size + gr * patch + ky) * size + gc * patch, out, o, patch);
                        o += patch;
                    }
                }
            }
        }
        return out;
    }
}
