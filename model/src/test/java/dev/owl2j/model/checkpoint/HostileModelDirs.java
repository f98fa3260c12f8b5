package dev.owl2j.model.checkpoint;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.format.Pickles;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Model directories whose weight files (each under 10 MB) are built to cost as much memory as the readers allow,
 * and a main that opens each one as {@code owl2j inspect} does. {@code InspectMemoryTest} runs the main in a child
 * JVM with a small heap: an allocation the limits do not bound would end in an OutOfMemoryError there.
 */
public final class HostileModelDirs {
    private HostileModelDirs() {}

    /** Writes the directories under {@code root}, each with {@code config} as its config.json. */
    public static List<Path> write(Path root, Path config) throws IOException {
        List<Path> dirs = new ArrayList<>();
        int n = 999_000; // just under the pickle reader's value limit
        // a pickle that builds about a million dicts, lists, strings and memo entries before it fails
        Pickles lists = Pickles.proto2();
        for (int i = 0; i < n / 3; i++) lists.op('}').raw(0x94);
        dirs.add(bin(root.resolve("pickle-dicts"), config, lists.bytes()));
        Pickles strs = Pickles.proto2();
        for (int i = 0; i < n / 2; i++) strs.str("t" + i).raw(0x94);
        dirs.add(bin(root.resolve("pickle-strings"), config, strs.bytes()));
        dirs.add(bin(root.resolve("pickle-lists"), config, Pickles.proto2().repeat(']', n).bytes()));
        // safetensors headers of 9 MB: 190,000 small tensors, and metadata
        StringBuilder h = new StringBuilder("{");
        for (int i = 0; h.length() < 9_000_000; i++) {
            h.append("\"t").append(i).append("\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[").append(i).append(',').append(i + 1).append("]},");
        }
        h.setLength(h.length() - 1);
        dirs.add(safetensors(root.resolve("st-many"), config, h.append('}').toString(), 200_000));
        StringBuilder m = new StringBuilder("{\"__metadata__\":{");
        for (int i = 0; m.length() < 9_000_000; i++) m.append("\"k").append(i).append("\":[[],[],[],[],[],[],[],[]],");
        m.setLength(m.length() - 1);
        dirs.add(safetensors(root.resolve("st-metadata"), config, m.append("}}").toString(), 0));
        // a zip of 60,000 empty entries
        Path zipDir = Files.createDirectories(root.resolve("zip-entries"));
        Files.copy(config, zipDir.resolve("config.json"));
        try (OutputStream os = Files.newOutputStream(zipDir.resolve("pytorch_model.bin")); ZipOutputStream z = new ZipOutputStream(new java.io.BufferedOutputStream(os))) {
            for (int i = 0; i < 60_000; i++) {
                ZipEntry e = new ZipEntry("archive/data/" + i);
                e.setMethod(ZipEntry.STORED);
                e.setSize(0);
                e.setCompressedSize(0);
                e.setCrc(0);
                z.putNextEntry(e);
                z.closeEntry();
            }
        }
        dirs.add(zipDir);
        // an index of 150,000 names, all in one (absent) shard
        Path idx = Files.createDirectories(root.resolve("index-many"));
        Files.copy(config, idx.resolve("config.json"));
        StringBuilder w = new StringBuilder("{\"weight_map\":{");
        for (int i = 0; i < 150_000; i++) w.append("\"model.layers.").append(i).append(".weight\":\"a.safetensors\",");
        w.setLength(w.length() - 1);
        Files.writeString(idx.resolve("model.safetensors.index.json"), w.append("}}"));
        dirs.add(idx);
        // an index whose metadata is 9 MB of small nested arrays (a tree of them would take hundreds of MB)
        Path meta = Files.createDirectories(root.resolve("index-metadata"));
        Files.copy(config, meta.resolve("config.json"));
        StringBuilder a = new StringBuilder("{\"metadata\":[");
        while (a.length() < 9_000_000) a.append("[[],[]],");
        a.setLength(a.length() - 1);
        Files.writeString(meta.resolve("model.safetensors.index.json"), a.append("],\"weight_map\":{\"a\":\"a.safetensors\"}}"));
        dirs.add(meta);
        for (Path d : dirs) {
            try (var files = Files.list(d)) {
                for (Path f : files.toList()) {
                    if (Files.size(f) >= 10_000_000) throw new IllegalStateException(f + " is not under 10 MB");
                }
            }
        }
        return dirs;
    }

    private static Path bin(Path dir, Path config, byte[] pkl) throws IOException {
        Files.createDirectories(dir);
        Files.copy(config, dir.resolve("config.json"));
        Pickles.zip(dir.resolve("pytorch_model.bin"), pkl, false, null, false);
        return dir;
    }

    private static Path safetensors(Path dir, Path config, String header, int dataBytes) throws IOException {
        Files.createDirectories(dir);
        Files.copy(config, dir.resolve("config.json"));
        byte[] hb = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + hb.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(hb.length).put(hb);
        Files.write(dir.resolve("model.safetensors"), b.array());
        return dir;
    }

    /**
     * Opens every directory named on the command line as {@code owl2j inspect} does and prints one line per
     * directory ({@code refused: MESSAGE} or {@code opened}), then the process's peak resident set size
     * ({@code VmHWM}, kB). Any other outcome (an exception that is not a user error, an OutOfMemoryError) ends
     * the process with a non-zero status.
     */
    public static void main(String[] args) throws IOException {
        for (String a : args) {
            try (ModelCheckpoint mc = ModelCheckpoint.open(Path.of(a))) {
                mc.report().toText();
                System.out.println(a + " opened");
            } catch (Owl2jException e) {
                System.out.println(a + " refused: " + e.getMessage());
            }
        }
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmHWM:")) System.out.println(line.replaceAll("\\s+", " "));
        }
    }
}
