package dev.owl2j.model.format;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One memory-mapped safetensors file. The header is validated before any tensor is handed out: its size is
 * bounded, every entry has a known dtype, a shape whose byte size equals its offsets, offsets inside the
 * file, and no two entries overlap. Tensors are zero-copy views of the mapping.
 */
public final class SafetensorsFile implements TensorSource {
    /** Largest header we accept; the real 7B shard headers are a few tens of kB. */
    public static final long MAX_HEADER_BYTES = 100L << 20;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** Where one tensor lives inside the data region. */
    public record Entry(String name, DType dtype, long[] shape, long begin, long end) {}

    private final Path path;
    private final Arena arena;
    private final MemorySegment data;
    private final Map<String, Entry> entries;
    private final Map<String, String> metadata;

    private SafetensorsFile(Path path, Arena arena, MemorySegment data, Map<String, Entry> entries, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.data = data;
        this.entries = entries;
        this.metadata = metadata;
    }

    public static SafetensorsFile open(Path path) {
        String where = path.toString();
        if (!Files.isRegularFile(path)) {
            throw new Owl2jException("safetensors file not found: " + where);
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size < 8) {
                throw new Owl2jException(where + ": not a safetensors file (only " + size + " bytes)");
            }
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            long headerLen = all.get(Tensor.I64_LE, 0);
            if (headerLen < 2 || headerLen > MAX_HEADER_BYTES || headerLen > size - 8) {
                throw new Owl2jException(where + ": safetensors header length " + headerLen
                        + " is invalid for a file of " + size + " bytes (truncated or not safetensors)");
            }
            byte[] headerBytes = all.asSlice(8, headerLen).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            MemorySegment dataRegion = all.asSlice(8 + headerLen);
            Map<String, String> metadata = new LinkedHashMap<>();
            Map<String, Entry> entries = parseHeader(where, headerBytes, dataRegion.byteSize(), metadata);
            return new SafetensorsFile(path, arena, dataRegion, entries, metadata);
        } catch (IOException e) {
            arena.close();
            throw new Owl2jException(where + ": cannot read safetensors file: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    private static Map<String, Entry> parseHeader(String where, byte[] headerBytes, long dataSize, Map<String, String> metadata) {
        JsonNode root;
        try {
            root = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8).trim());
        } catch (IOException e) {
            throw new Owl2jException(where + ": safetensors header is not valid JSON");
        }
        if (root == null || !root.isObject()) {
            throw new Owl2jException(where + ": safetensors header is not a JSON object");
        }
        Map<String, Entry> entries = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            String name = f.getKey();
            JsonNode v = f.getValue();
            if (name.equals("__metadata__")) {
                if (v.isObject()) {
                    v.fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
                }
                continue;
            }
            entries.put(name, parseEntry(where, name, v, dataSize));
        }
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            Entry prev = sorted.get(i - 1);
            Entry cur = sorted.get(i);
            if (cur.begin() < prev.end()) {
                throw new Owl2jException(where + ": tensors " + prev.name() + " and " + cur.name() + " overlap in the data region");
            }
        }
        return entries;
    }

    private static Entry parseEntry(String where, String name, JsonNode v, long dataSize) {
        String bad = where + ": tensor " + name + ": ";
        if (!v.isObject() || !v.has("dtype") || !v.has("shape") || !v.has("data_offsets")) {
            throw new Owl2jException(bad + "header entry lacks dtype, shape or data_offsets");
        }
        DType dtype = DType.fromSafetensors(v.get("dtype").asText());
        if (dtype == null) {
            throw new Owl2jException(bad + "unsupported dtype " + v.get("dtype").asText());
        }
        JsonNode shapeNode = v.get("shape");
        JsonNode offs = v.get("data_offsets");
        if (!shapeNode.isArray() || !offs.isArray() || offs.size() != 2) {
            throw new Owl2jException(bad + "shape or data_offsets malformed");
        }
        long[] shape = new long[shapeNode.size()];
        for (int i = 0; i < shape.length; i++) {
            JsonNode d = shapeNode.get(i);
            if (!d.canConvertToLong() || d.asLong() < 0) {
                throw new Owl2jException(bad + "invalid dimension " + d);
            }
            shape[i] = d.asLong();
        }
        if (!offs.get(0).canConvertToLong() || !offs.get(1).canConvertToLong()) {
            throw new Owl2jException(bad + "data_offsets are not integers");
        }
        long begin = offs.get(0).asLong();
        long end = offs.get(1).asLong();
        if (begin < 0 || end < begin || end > dataSize) {
            throw new Owl2jException(bad + "data_offsets [" + begin + ", " + end + "] point outside the file's data region of "
                    + dataSize + " bytes (truncated or corrupt file)");
        }
        long bytes;
        try {
            long numel = Tensor.numel(shape);
            if (numel % dtype.blockSize != 0) {
                throw new Owl2jException(bad + "element count " + numel + " is not a multiple of the " + dtype + " block size");
            }
            bytes = dtype.bytesFor(numel);
        } catch (ArithmeticException e) {
            throw new Owl2jException(bad + "shape overflows");
        }
        if (end - begin != bytes) {
            throw new Owl2jException(bad + "holds " + (end - begin) + " bytes but shape " + java.util.Arrays.toString(shape)
                    + " of " + dtype + " needs " + bytes);
        }
        return new Entry(name, dtype, shape, begin, end);
    }

    public Path path() {
        return path;
    }

    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    public Map<String, Entry> entries() {
        return Collections.unmodifiableMap(entries);
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(entries.keySet());
    }

    @Override
    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    @Override
    public Tensor get(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new Owl2jException(path + ": no tensor named " + name);
        }
        return new Tensor(name, e.dtype(), e.shape(), data.asSlice(e.begin(), e.end() - e.begin()));
    }

    @Override
    public String formatName() {
        return "safetensors";
    }

    @Override
    public void close() {
        arena.close();
    }
}
