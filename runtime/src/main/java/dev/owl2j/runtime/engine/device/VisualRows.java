package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.Buffer;

import java.util.Arrays;

/** One image's visual tokens as a prefill reads them: rows copied into the decoder's input rows. */
interface VisualRows {
    /** Copies rows [row0, row0 + rows) into dst from float offset dstOff. */
    void copyRows(Launcher run, int row0, int rows, Buffer dst, int dstOff);

    /** Tokens on the host: one upload per run of rows. */
    static VisualRows host(float[] tokens, int hidden) {
        return (run, row0, rows, dst, dstOff) -> dst.write(Arrays.copyOfRange(tokens, row0 * hidden, (row0 + rows) * hidden), dstOff);
    }
}
