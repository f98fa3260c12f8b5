package dev.owl2j.runtime.cli;

import dev.owl2j.model.config.PreprocessorConfig;
import dev.owl2j.model.format.SafetensorsWriter;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.model.io.SafeFileWriter;
import dev.owl2j.model.image.ImagePreprocessor;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import dev.owl2j.runtime.model.ImageFiles;
import dev.owl2j.runtime.model.ModelOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** {@code owl2j preprocess}: image file to the vision tower's {@code pixel_values}, saved as safetensors. */
@Command(name = "preprocess",
        mixinStandardHelpOptions = true,
        description = "Decode and preprocess an image into pixel_values F32 [3,S,S] (S = 448 for mPLUG-Owl2).")
public final class PreprocessCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--image", required = true, paramLabel = "FILE", description = "JPEG, PNG, BMP, GIF or WebP image.")
    Path image;

    @Option(names = "--aspect", defaultValue = "pad", paramLabel = "MODE",
            description = "pad (default: expand to square with the CLIP mean colour), resize (stretch) or crop "
                    + "(shortest-edge resize and centre crop).")
    String aspect;

    @Option(names = "--model", paramLabel = "DIR|ID",
            description = "A checkpoint folder or pulled repository id whose preprocessor_config.json is used (default: the release's CLIP 448 settings, which the embedded default model shares).")
    String model;

    @Option(names = "--out", required = true, paramLabel = "OUT.safetensors", description = "Output file (replaces only a regular file, in a directory that exists).")
    Path out;

    @Override
    public void run() {
        AspectMode mode = AspectMode.parse(aspect);
        SafeFileWriter.checkTarget(out);
        ImageFiles.check(image);
        PreprocessorConfig cfg = model == null
                ? PreprocessorConfig.clip448()
                : PreprocessorConfig.read(ModelOptions.locate(model, System.err).dir().resolve("preprocessor_config.json"));
        ImagePreprocessor pre = new ImagePreprocessor(cfg);
        float[] pixels = pre.pixelValues(ImageFiles.read(image), image.toString(), mode);
        int s = pre.imageSize();
        MemorySegment data = MemorySegment.ofArray(new byte[pixels.length * 4]);
        for (int i = 0; i < pixels.length; i++) {
            data.set(Tensor.F32_LE, i * 4L, pixels[i]);
        }
        SafetensorsWriter.write(out, List.of(new Tensor("pixel_values", DType.F32, new long[]{3, s, s}, data)),
                Map.of("source", image.getFileName().toString(), "aspect", mode.cliName()));
        spec.commandLine().getOut().println("wrote pixel_values [3, " + s + ", " + s + "] (aspect " + mode.cliName()
                + ") to " + out);
        spec.commandLine().getOut().flush();
    }
}
