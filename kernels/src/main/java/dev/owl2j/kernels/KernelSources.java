package dev.owl2j.kernels;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/** Kernel sources shipped as resources under dev/owl2j/kernels/ (the CUDA-only tensor-core matmul). */
public final class KernelSources {
    private KernelSources() {}

    public static String resource(String file) {
        try (InputStream in = KernelSources.class.getResourceAsStream(file)) {
            if (in == null) throw new DeviceException("kernel source resource " + file + " is missing");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
