package dev.owl2j.model.checkpoint;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.format.TensorSource;
import dev.owl2j.model.io.SafeFileWriter;
import dev.owl2j.model.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a checkpoint's tensors as safetensors, one tensor at a time: each tensor is fetched (a view of the
 * mapped source), transformed, appended to the current shard's data file and dropped, so memory holds at most
 * one transformed tensor. A shard closes when the next tensor would take it past {@code shardBytes}. One
 * shard becomes {@code model.safetensors}; several become {@code model-0000i-of-0000N.safetensors} plus
 * {@code model.safetensors.index.json}. Every file goes through {@link SafeFileWriter} (scratch data in random-named
 * temporary files, each output renamed into place when complete), so an interrupted conversion leaves no file that
 * looks complete, and the output directory is created only if its parent exists.
 */
public final class CheckpointConverter {
    private static final ObjectMapper JSON = new ObjectMapper();
    /** Files copied verbatim next to the weights when present. */
    public static final List<String> SIDE_FILES = List.of("config.json", "generation_config.json",
            "preprocessor_config.json", "tokenizer.model", "tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "added_tokens.json", "configuration.json");

    /** What was written. */
    public record Result(List<Path> files, long tensorBytes, int tensors) {}

    private CheckpointConverter() {}

    public static Result convert(TensorSource src, Path outDir, TensorTransform transform, long shardBytes) {
        if (shardBytes <= 0) {
            throw new Owl2jException("shard size must be positive, got " + shardBytes);
        }
        try {
            SafeFileWriter.ensureDirectory(outDir);
            List<Shard> shards = new ArrayList<>();
            Shard cur = null;
            long total = 0;
            int count = 0;
            try {
                for (String name : src.names()) {
                    Tensor t = transform.apply(src.get(name));
                    long bytes = t.data().byteSize();
                    if (cur == null || (cur.bytes > 0 && cur.bytes + bytes > shardBytes)) {
                        if (cur != null) cur.finishData();
                        cur = new Shard(outDir);
                        shards.add(cur);
                    }
                    cur.append(t);
                    total += bytes;
                    count++;
                }
                if (cur == null) {
                    throw new Owl2jException("the source holds no tensors");
                }
                cur.finishData();
                List<Path> files = new ArrayList<>();
                Map<String, String> weightMap = new LinkedHashMap<>();
                int n = shards.size();
                for (int i = 0; i < n; i++) {
                    String file = n == 1 ? "model.safetensors"
                            : String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", i + 1, n);
                    shards.get(i).writeFinal(outDir.resolve(file));
                    files.add(outDir.resolve(file));
                    for (String name : shards.get(i).names) weightMap.put(name, file);
                }
                if (n > 1) {
                    ObjectNode index = JSON.createObjectNode();
                    index.putObject("metadata").put("total_size", total);
                    ObjectNode wm = index.putObject("weight_map");
                    weightMap.forEach(wm::put);
                    Path idx = outDir.resolve("model.safetensors.index.json");
                    SafeFileWriter.write(idx, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(index)
                            .getBytes(StandardCharsets.UTF_8));
                    files.add(idx);
                }
                return new Result(files, total, count);
            } finally {
                for (Shard s : shards) s.discard();
            }
        } catch (IOException e) {
            throw SafeFileWriter.failure(outDir, e);
        }
    }

    /** Copies config, tokenizer and other side files of a model directory (those that exist). */
    public static List<Path> copySideFiles(Path fromDir, Path toDir) {
        List<Path> out = new ArrayList<>();
        SafeFileWriter.ensureDirectory(toDir);
        for (String f : SIDE_FILES) {
            Path p = fromDir.resolve(f);
            if (Files.isRegularFile(p)) {
                SafeFileWriter.copy(p, toDir.resolve(f));
                out.add(toDir.resolve(f));
            }
        }
        return out;
    }

    /** One output shard: its data appended to a temporary file, its header built alongside. */
    private static final class Shard {
        final SafeFileWriter data;
        final FileChannel ch;
        final ObjectNode header = JSON.createObjectNode();
        final List<String> names = new ArrayList<>();
        long bytes;

        Shard(Path dir) {
            this.data = SafeFileWriter.scratch(dir);
            this.ch = data.channel();
            header.putObject("__metadata__").put("format", "pt");
        }

        void append(Tensor t) throws IOException {
            names.add(t.name());
            ObjectNode e = header.putObject(t.name());
            e.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = e.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            ArrayNode offs = e.putArray("data_offsets");
            offs.add(bytes);
            MemorySegment seg = t.data();
            long size = seg.byteSize();
            // in chunks: a ByteBuffer view is limited to 2 GiB
            for (long pos = 0; pos < size; ) {
                long n = Math.min(size - pos, 1L << 28);
                ByteBuffer b = seg.asSlice(pos, n).asByteBuffer();
                while (b.hasRemaining()) ch.write(b);
                pos += n;
            }
            bytes += size;
            offs.add(bytes);
        }

        void finishData() throws IOException {
            if (ch.isOpen()) {
                ch.force(false);
            }
        }

        void writeFinal(Path file) throws IOException {
            byte[] h = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
            int padded = (h.length + 7) / 8 * 8; // keeps the data region 8-byte aligned
            ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(padded).put(h);
            while (head.hasRemaining()) head.put((byte) ' ');
            head.flip();
            try (SafeFileWriter w = SafeFileWriter.create(file)) {
                FileChannel out = w.channel();
                while (head.hasRemaining()) out.write(head);
                for (long pos = 0; pos < bytes; ) {
                    pos += ch.transferTo(pos, bytes - pos, out);
                }
                w.commit();
            }
        }

        void discard() {
            data.close();
        }
    }
}
