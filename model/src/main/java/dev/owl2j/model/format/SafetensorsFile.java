package dev.owl2j.model.format;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
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
    /** Most dimensions a tensor may have (torch allows 64). */
    static final int MAX_RANK = 64;
    private static final JsonFactory JSON = new JsonFactory();

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

    /**
     * Reads the header with Jackson's streaming parser, so that memory stays proportional to the tensors it
     * describes whatever the JSON holds (a tree of millions of empty arrays never exists here).
     */
    static Map<String, Entry> parseHeader(String where, byte[] headerBytes, long dataSize, Map<String, String> metadata) {
        Map<String, Entry> entries = new LinkedHashMap<>();
        try (JsonParser p = JSON.createParser(headerBytes)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new Owl2jException(where + ": safetensors header is not a JSON object");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (name.equals("__metadata__")) {
                    readMetadata(p, value, metadata);
                    continue;
                }
                if (entries.containsKey(name)) {
                    throw new Owl2jException(where + ": tensor " + printable(name) + " appears twice in the safetensors header");
                }
                entries.put(name, parseEntry(where, name, p, dataSize));
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw new Owl2jException(where + ": safetensors header has data after its JSON object");
            }
        } catch (IOException e) {
            throw new Owl2jException(where + ": safetensors header is not valid JSON (" + firstLine(e instanceof com.fasterxml.jackson.core.JacksonException j ? j.getOriginalMessage() : e.getMessage()) + ")");
        }
        List<Entry> sorted = new ArrayList<>(entries.values());
        sorted.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < sorted.size(); i++) {
            Entry prev = sorted.get(i - 1);
            Entry cur = sorted.get(i);
            if (cur.begin() < prev.end()) {
                throw new Owl2jException(where + ": tensors " + printable(prev.name()) + " and " + printable(cur.name())
                        + " overlap in the data region");
            }
        }
        return entries;
    }

    /** {@code __metadata__}: string to string; other scalars are kept as text, nested values skipped. */
    private static void readMetadata(JsonParser p, JsonToken value, Map<String, String> metadata) throws IOException {
        if (value != JsonToken.START_OBJECT) {
            p.skipChildren();
            return;
        }
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String key = p.currentName();
            JsonToken v = p.nextToken();
            if (v.isScalarValue()) metadata.put(key, p.getText());
            else p.skipChildren();
        }
    }

    private static Entry parseEntry(String where, String name, JsonParser p, long dataSize) throws IOException {
        String bad = where + ": tensor " + printable(name) + ": ";
        if (p.currentToken() != JsonToken.START_OBJECT) {
            throw new Owl2jException(bad + "header entry is not a JSON object");
        }
        String dtypeName = null;
        long[] shape = null, offs = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String field = p.currentName();
            JsonToken v = p.nextToken();
            switch (field) {
                case "dtype" -> {
                    if (v != JsonToken.VALUE_STRING) throw new Owl2jException(bad + "dtype is not a string");
                    dtypeName = p.getText();
                }
                case "shape" -> shape = longs(p, bad + "shape", MAX_RANK);
                case "data_offsets" -> offs = longs(p, bad + "data_offsets", 2);
                default -> p.skipChildren();
            }
        }
        if (dtypeName == null || shape == null || offs == null) {
            throw new Owl2jException(bad + "header entry lacks dtype, shape or data_offsets");
        }
        DType dtype = DType.fromSafetensors(dtypeName);
        if (dtype == null) {
            throw new Owl2jException(bad + "unsupported dtype " + printable(dtypeName));
        }
        if (offs.length != 2) {
            throw new Owl2jException(bad + "data_offsets must be two integers");
        }
        long begin = offs[0];
        long end = offs[1];
        if (end < begin || end > dataSize) {
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

    /** A JSON array of at most {@code max} non-negative integers that fit a long. */
    private static long[] longs(JsonParser p, String what, int max) throws IOException {
        if (p.currentToken() != JsonToken.START_ARRAY) throw new Owl2jException(what + " is not a list");
        long[] out = new long[max];
        int n = 0;
        JsonToken t;
        while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
            if (t != JsonToken.VALUE_NUMBER_INT || p.getNumberType() == JsonParser.NumberType.BIG_INTEGER || p.getLongValue() < 0) {
                throw new Owl2jException(what + " holds " + printable(p.getText()) + ", not a non-negative integer");
            }
            if (n == max) throw new Owl2jException(what + " has more than " + max + " entries");
            out[n++] = p.getLongValue();
        }
        return java.util.Arrays.copyOf(out, n);
    }

    private static String printable(String s) {
        return SafePickleReader.printable(s);
    }

    private static String firstLine(String s) {
        if (s == null) return "unknown error";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
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
    public Info info(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new Owl2jException(path + ": no tensor named " + name);
        }
        return new Info(e.dtype(), e.shape().clone());
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
