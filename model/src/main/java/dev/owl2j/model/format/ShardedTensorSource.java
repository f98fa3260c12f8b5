package dev.owl2j.model.format;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.tensor.Tensor;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A checkpoint split into shards with a Hugging Face index ({@code model.safetensors.index.json} or
 * {@code pytorch_model.bin.index.json}): {@code {"metadata": {...}, "weight_map": {name: shard file}}}.
 * Every shard the index names is opened (safetensors or torch.save zip, by file name), and every name in
 * the weight map must be in the shard it points to. Tensors a shard holds beyond the index are refused, so
 * that what is loaded is exactly what the index says.
 */
public final class ShardedTensorSource implements TensorSource {
    private static final JsonFactory JSON = new JsonFactory();

    private final Path index;
    private final List<Path> shardFiles;
    private final List<TensorSource> shards;
    private final Map<String, TensorSource> owner;
    private final String format;

    private ShardedTensorSource(Path index, List<Path> shardFiles, List<TensorSource> shards, Map<String, TensorSource> owner, String format) {
        this.index = index;
        this.shardFiles = shardFiles;
        this.shards = shards;
        this.owner = owner;
        this.format = format;
    }

    /** Opens the index and all its shards (each memory-mapped; nothing is read into the heap). */
    public static ShardedTensorSource open(Path indexFile) {
        String where = indexFile.getFileName().toString();
        Map<String, String> weightMap = readWeightMap(indexFile, where);
        Path dir = indexFile.toAbsolutePath().getParent();
        Map<String, TensorSource> byFile = new LinkedHashMap<>();
        List<Path> files = new ArrayList<>();
        try {
            // shards in name order, shorter names first so that pytorch_model-2-of-33.bin precedes -10-of-33.bin
            java.util.TreeSet<String> ordered = new java.util.TreeSet<>(
                    java.util.Comparator.comparingInt(String::length).thenComparing(java.util.Comparator.naturalOrder()));
            ordered.addAll(weightMap.values());
            for (String file : ordered) {
                Path p = dir.resolve(file);
                if (!Files.isRegularFile(p)) {
                    throw new Owl2jException(where + ": shard " + file + " is missing from " + dir);
                }
                files.add(p);
                byFile.put(file, openShard(p));
            }
            Map<String, TensorSource> owner = new LinkedHashMap<>();
            for (Map.Entry<String, String> e : weightMap.entrySet()) {
                TensorSource s = byFile.get(e.getValue());
                if (!s.contains(e.getKey())) {
                    throw new Owl2jException(where + ": tensor " + e.getKey() + " is listed in " + e.getValue() + " but that shard lacks it");
                }
                owner.put(e.getKey(), s);
            }
            for (Map.Entry<String, TensorSource> e : byFile.entrySet()) {
                for (String n : e.getValue().names()) {
                    if (!e.getKey().equals(weightMap.get(n))) {
                        throw new Owl2jException(where + ": shard " + e.getKey() + " holds tensor " + n + " that the index "
                                + (weightMap.containsKey(n) ? "places in " + weightMap.get(n) : "does not list"));
                    }
                }
            }
            String kind = byFile.values().iterator().next().formatName();
            return new ShardedTensorSource(indexFile, files, new ArrayList<>(byFile.values()), owner,
                    kind + " (" + files.size() + " shards)");
        } catch (RuntimeException e) {
            byFile.values().forEach(TensorSource::close);
            throw e;
        }
    }

    /**
     * The index's {@code weight_map}, read with Jackson's streaming parser (other keys are skipped unread), so that
     * memory follows the names it lists whatever else the JSON holds.
     */
    private static Map<String, String> readWeightMap(Path indexFile, String where) {
        Map<String, String> weightMap = new LinkedHashMap<>();
        boolean found = false;
        try (JsonParser p = JSON.createParser(indexFile.toFile())) {
            if (p.nextToken() != JsonToken.START_OBJECT) throw new Owl2jException(where + ": not a JSON object");
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                JsonToken v = p.nextToken();
                if (!key.equals("weight_map") || v != JsonToken.START_OBJECT) {
                    p.skipChildren();
                    continue;
                }
                found = true;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    JsonToken t = p.nextToken();
                    String file = t == JsonToken.VALUE_STRING ? p.getText() : "";
                    if (file.isEmpty() || file.contains("/") || file.contains("\\") || file.startsWith(".")) {
                        throw new Owl2jException(where + ": weight_map entry " + SafePickleReader.printable(name)
                                + " names an invalid shard file " + SafePickleReader.printable(t.isScalarValue() ? p.getText() : t.name()));
                    }
                    if (weightMap.put(name, file) != null) {
                        throw new Owl2jException(where + ": weight_map lists " + SafePickleReader.printable(name) + " twice");
                    }
                }
            }
            if (p.nextToken() != null) throw new Owl2jException(where + ": data after the JSON object");
        } catch (IOException e) {
            throw new Owl2jException(where + ": not valid JSON (" + firstLine(
                    e instanceof com.fasterxml.jackson.core.JacksonException j ? j.getOriginalMessage() : e.getMessage()) + ")");
        }
        if (!found || weightMap.isEmpty()) {
            throw new Owl2jException(where + ": no weight_map object");
        }
        return weightMap;
    }

    /** Opens one file by its extension: {@code .safetensors} or a torch.save {@code .bin}/{@code .pt}/{@code .pth}. */
    public static TensorSource openShard(Path p) {
        String n = p.getFileName().toString();
        if (n.endsWith(".safetensors")) return SafetensorsFile.open(p);
        if (n.endsWith(".bin") || n.endsWith(".pt") || n.endsWith(".pth")) return TorchZipCheckpoint.open(p);
        throw new Owl2jException("unknown checkpoint file type: " + n + " (expected .safetensors or .bin)");
    }

    public Path indexFile() {
        return index;
    }

    public List<Path> shardFiles() {
        return Collections.unmodifiableList(shardFiles);
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(owner.keySet());
    }

    @Override
    public boolean contains(String name) {
        return owner.containsKey(name);
    }

    @Override
    public Tensor get(String name) {
        TensorSource s = owner.get(name);
        if (s == null) {
            throw new Owl2jException(index.getFileName() + ": no tensor named " + name);
        }
        return s.get(name);
    }

    @Override
    public Info info(String name) {
        TensorSource s = owner.get(name);
        if (s == null) {
            throw new Owl2jException(index.getFileName() + ": no tensor named " + name);
        }
        return s.info(name);
    }

    @Override
    public String formatName() {
        return format;
    }

    @Override
    public void close() {
        shards.forEach(TensorSource::close);
    }

    private static String firstLine(String s) {
        if (s == null) return "unknown error";
        int nl = s.indexOf('\n');
        return nl < 0 ? s : s.substring(0, nl);
    }
}
