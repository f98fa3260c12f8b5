package dev.owl2j.model.format;

import dev.owl2j.model.fuzz.FuzzTargets;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** A safetensors file (header and data) on any bytes: open it, then read every tensor's first and last byte. */
class SafetensorsFuzzTest {
    private static final Path FILE = FuzzTargets.scratch("fuzz.safetensors");

    @MethodSource("seeds")
    @FuzzTest(maxDuration = "15s")
    void open(byte[] file) throws IOException {
        Files.write(FILE, file);
        FuzzTargets.userErrorsOnly(() -> {
            try (SafetensorsFile st = SafetensorsFile.open(FILE)) {
                st.metadata();
                for (String name : st.names()) {
                    st.info(name);
                    Tensor t = st.get(name);
                    if (t.data().byteSize() > 0) {
                        t.data().get(ValueLayout.JAVA_BYTE, 0);
                        t.data().get(ValueLayout.JAVA_BYTE, t.data().byteSize() - 1);
                    }
                }
            }
        });
    }

    static Stream<byte[]> seeds() {
        String header = "{\"__metadata__\":{\"format\":\"pt\"},\"a\":{\"dtype\":\"F16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
                + "\"q\":{\"dtype\":\"Q8_0\",\"shape\":[1,32],\"data_offsets\":[8,42]}}";
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 42).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        return Stream.concat(FuzzTargets.testdataFiles("torch-bin/cases.expected.safetensors"), Stream.of(b.array()));
    }
}
