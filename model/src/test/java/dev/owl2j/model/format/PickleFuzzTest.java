package dev.owl2j.model.format;

import dev.owl2j.model.fuzz.FuzzTargets;

import com.code_intelligence.jazzer.junit.FuzzTest;
import dev.owl2j.model.TestData;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipFile;

/** The restricted unpickler on any bytes (seeds: the data.pkl of real torch.save files and hand-built pickles). */
class PickleFuzzTest {
    @MethodSource("seeds")
    @FuzzTest(maxDuration = "15s")
    void readStateDict(byte[] pickle) {
        FuzzTargets.userErrorsOnly(() -> SafePickleReader.readStateDict(pickle, "fuzz.bin"));
    }

    static Stream<byte[]> seeds() {
        List<byte[]> out = new ArrayList<>();
        for (String f : new String[]{"torch-bin/cases.bin", "torch-bin/malicious.bin", "tiny-owl2-bin/pytorch_model-1-of-2.bin"}) {
            out.add(dataPkl(f));
        }
        out.add(Pickles.stateDict(16, 2, new int[]{2, 3}, new int[]{1, 2}));
        out.add(Pickles.proto2().op(']').op('q').raw(0).op('h').raw(0).op('a').op('.').bytes());
        return out.stream();
    }

    static byte[] dataPkl(String testdataPath) {
        try (ZipFile z = new ZipFile(TestData.root().resolve(testdataPath).toFile())) {
            var e = z.stream().filter(x -> x.getName().endsWith("data.pkl")).findFirst().orElseThrow();
            return z.getInputStream(e).readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
