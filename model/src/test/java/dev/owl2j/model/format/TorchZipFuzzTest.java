package dev.owl2j.model.format;

import dev.owl2j.model.fuzz.FuzzTargets;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.owl2j.model.tensor.Tensor;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** A torch.save zip on any bytes: open it, then read every tensor's first and last byte. */
class TorchZipFuzzTest {
    private static final Path FILE = FuzzTargets.scratch("fuzz.bin");

    @MethodSource("seeds")
    @FuzzTest(maxDuration = "15s")
    void open(byte[] archive) throws IOException {
        Files.write(FILE, archive);
        FuzzTargets.userErrorsOnly(() -> {
            try (TorchZipCheckpoint ck = TorchZipCheckpoint.open(FILE)) {
                for (String name : ck.names()) {
                    ck.info(name);
                    Tensor t = ck.get(name);
                    if (t.data().byteSize() > 0) {
                        t.data().get(ValueLayout.JAVA_BYTE, 0);
                        t.data().get(ValueLayout.JAVA_BYTE, t.data().byteSize() - 1);
                    }
                }
            }
        });
    }

    static Stream<byte[]> seeds() {
        Stream<byte[]> files = FuzzTargets.testdataFiles("torch-bin/cases.bin", "torch-bin/malicious.bin", "torch-bin/legacy.bin");
        try {
            Path tmp = Files.createTempDirectory("owl2j-seeds");
            byte[] pkl = Pickles.stateDict(16, 1, new int[]{2, 3}, new int[]{1, 2});
            byte[] deflated = Files.readAllBytes(Pickles.zip(tmp.resolve("d.bin"), pkl, true, new byte[64], true));
            return Stream.concat(files, Stream.of(deflated));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
