package dev.owl2j.runtime.cli;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.checkpoint.ExpectedTensors;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Quantizer;
import dev.owl2j.runtime.model.ModelOptions;
import dev.owl2j.model.checkpoint.CheckpointConverter;
import dev.owl2j.model.checkpoint.DTypeTransform;
import dev.owl2j.model.checkpoint.ModelCheckpoint;
import dev.owl2j.model.checkpoint.TensorTransform;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * {@code owl2j convert [--model DIR|ID] --out DIR2 [--dtype f16|bf16|f32] [--quant q8_0|q4_0] [--shard-size 2GB]}:
 * rewrites any supported checkpoint as (sharded) safetensors plus its json and tokenizer files, tensor by
 * tensor, so that later loads are plain memory maps.
 */
@Command(name = "convert", mixinStandardHelpOptions = true,
        description = "Convert a checkpoint (.bin or safetensors) to safetensors, optionally changing dtype.")
public final class ConvertCommand implements Callable<Integer> {
    private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([KMGT]i?B?|B)?", Pattern.CASE_INSENSITIVE);

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", paramLabel = "DIR|ID", description = "The source. " + ModelOptions.MODEL_HELP)
    String model;

    @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output directory (created if missing, not its parents; must not hold weights).")
    Path out;

    @Option(names = "--dtype", paramLabel = "TYPE", description = "f16, bf16 or f32 (default: keep the stored dtypes).")
    String dtype;

    @Option(names = "--quant", paramLabel = "TYPE", description = "q8_0 or q4_0 block quantization of the linear weights.")
    String quant;

    @Option(names = "--shard-size", paramLabel = "SIZE", defaultValue = "2GB", description = "Largest shard (default: ${DEFAULT-VALUE}).")
    String shardSize;

    @Override
    public Integer call() throws IOException {
        long shardBytes = parseSize(shardSize);
        TensorTransform transform = dtype == null ? TensorTransform.identity() : DTypeTransform.parse(dtype);
        if (quant != null) {
            DType q = ModelOptions.parseQuant(quant);
            if (q != null) {
                transform = transform.andThen(quantizeDecoderProjections(q));
            }
        }
        if (!Files.isDirectory(out)) {
            Path parent = out.toAbsolutePath().getParent();
            if (Files.exists(out, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                throw new Owl2jException("--out " + out + " exists and is not a directory");
            }
            if (parent == null || !Files.isDirectory(parent)) {
                throw new Owl2jException("--out " + out + ": directory " + parent + " does not exist (only --out itself is created)");
            }
        }
        Path model = ModelOptions.locate(this.model, System.err).dir();
        if (model.toAbsolutePath().normalize().equals(out.toAbsolutePath().normalize())) {
            throw new Owl2jException("--out must differ from --model");
        }
        if (Files.isDirectory(out)) {
            try (Stream<Path> s = Files.list(out)) {
                if (s.anyMatch(p -> ModelCheckpoint.WEIGHT_FILES.contains(p.getFileName().toString())
                        || p.getFileName().toString().endsWith(".safetensors"))) {
                    throw new Owl2jException("output directory " + out + " already holds weights");
                }
            }
        }
        try (ModelCheckpoint mc = ModelCheckpoint.open(model)) {
            long t0 = System.nanoTime();
            CheckpointConverter.Result r = CheckpointConverter.convert(mc.storedTensors(), out, transform, shardBytes);
            CheckpointConverter.copySideFiles(model, out);
            PrintWriter pw = spec.commandLine().getOut();
            pw.printf(Locale.ROOT, "converted %d tensors (%s, %,d bytes) from %s to %s in %.1f s%n", r.tensors(),
                    mc.report().format(), r.tensorBytes(), model, out, (System.nanoTime() - t0) / 1e9);
            for (Path f : r.files()) pw.println("  " + f.getFileName());
            pw.flush();
        }
        return 0;
    }

    /**
     * The same choice as quantizing at load ({@code Linears.factory}): the decoder layers' projections whose
     * rows are whole blocks of 32; everything else keeps its type. A later load maps the blocks as stored.
     */
    static TensorTransform quantizeDecoderProjections(DType q) {
        return t -> ExpectedTensors.isDecoderProjection(t.name()) && t.rank() == 2 && t.dim(1) % q.blockSize == 0
                && t.dtype().isFloat() ? Quantizer.quantize(t, q) : t;
    }

    /** "2GB", "500MB", "1.5GiB", "1048576": decimal units for KB/MB/GB/TB, binary for KiB/MiB/GiB/TiB. */
    static long parseSize(String s) {
        Matcher m = SIZE.matcher(s.trim());
        if (!m.matches()) {
            throw new Owl2jException("cannot parse size " + s + " (examples: 2GB, 500MB, 1GiB)");
        }
        double v = Double.parseDouble(m.group(1));
        String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
        boolean binary = unit.contains("I");
        long base = binary ? 1024 : 1000;
        long mult = switch (unit.charAt(0)) {
            case 'K' -> base;
            case 'M' -> base * base;
            case 'G' -> base * base * base;
            case 'T' -> base * base * base * base;
            default -> 1;
        };
        long bytes = (long) (v * mult);
        if (bytes <= 0) {
            throw new Owl2jException("--shard-size must be positive, got " + s);
        }
        return bytes;
    }
}
