package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.Kernels;
import dev.owl2j.runtime.engine.VisualTokens;

/**
 * An image's visual tokens left in device memory by {@link DeviceEngine#encode}: a prefill of a session of the
 * same engine copies them into its input rows on the device.
 */
final class DeviceVisualTokens implements VisualTokens, VisualRows {
    private final DeviceEngine engine;
    private final Kernels k;
    private final int floats;
    private Buffer buffer;

    DeviceVisualTokens(DeviceEngine engine, Kernels k, Buffer buffer, int floats) {
        this.engine = engine;
        this.k = k;
        this.buffer = buffer;
        this.floats = floats;
    }

    DeviceEngine engine() {
        return engine;
    }

    @Override
    public int floats() {
        return floats;
    }

    @Override
    public float[] toHost() {
        synchronized (engine) {
            engine.context().finish();
            return live().readFloats(0, floats);
        }
    }

    @Override
    public void copyRows(Launcher run, int row0, int rows, Buffer dst, int dstOff) {
        int hidden = floats / engine.config().tokensPerImage();
        run.launch("visual_tokens", k.copy(dst, dstOff, live(), row0 * hidden, rows * hidden));
    }

    private Buffer live() {
        if (buffer == null) throw new IllegalStateException("these visual tokens were closed");
        return buffer;
    }

    @Override
    public void close() {
        synchronized (engine) {
            if (buffer != null) {
                buffer.close();
                buffer = null;
                engine.closed(this);
            }
        }
    }
}
