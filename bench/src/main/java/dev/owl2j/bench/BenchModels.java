package dev.owl2j.bench;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.config.Owl2Config;
import dev.owl2j.model.cpu.SimpleLinear;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.runtime.engine.CpuEngine;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.TextStream;
import dev.owl2j.runtime.server.ServerModel;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The model a load benchmark serves: a checkpoint directory with config.json and model.safetensors on the
 * CPU (default: the repository's tiny random fixture). The front end is byte-level (one id per UTF-8 byte,
 * LLaMA's byte-fallback ids 3..258) and EOS is ignored, so every request generates exactly max_tokens: the
 * benchmark measures the engine and the server, not the tokenizer or when a random model stops.
 */
final class BenchModels {
    private BenchModels() {}

    static ServerModel open(String dir) {
        Path path = dir == null ? defaultFixture() : Path.of(dir);
        if (!Files.isRegularFile(path.resolve("config.json")) || !Files.isRegularFile(path.resolve("model.safetensors"))) {
            throw new Owl2jException(path + ": needs config.json and model.safetensors");
        }
        Engine engine = new CpuEngine(SafetensorsFile.open(path.resolve("model.safetensors")),
                Owl2Config.read(path.resolve("config.json")), SimpleLinear::new, "stored");
        String id = path.getFileName().toString();
        return new ServerModel() {
            @Override
            public String id() {
                return id;
            }

            @Override
            public Engine engine() {
                return engine;
            }

            @Override
            public String renderChat(List<Turn> turns) {
                StringBuilder b = new StringBuilder();
                for (Turn t : turns) b.append(t.role().equals("assistant") ? "ASSISTANT: " : "USER: ").append(t.text()).append(' ');
                return b.append("ASSISTANT:").toString();
            }

            @Override
            public int[] encodePrompt(String prompt) {
                List<Integer> ids = new ArrayList<>(List.of(1));
                String[] parts = prompt.split("<\\|image\\|>", -1);
                for (int i = 0; i < parts.length; i++) {
                    if (i > 0) ids.add(-200);
                    for (byte b : parts[i].getBytes(StandardCharsets.UTF_8)) ids.add(3 + (b & 0xff));
                }
                return ids.stream().mapToInt(Integer::intValue).toArray();
            }

            @Override
            public TextStream newTextStream() {
                return new TextStream() {
                    @Override
                    public String push(int id) {
                        return "[" + id + "]";
                    }

                    @Override
                    public String flush() {
                        return "";
                    }
                };
            }

            @Override
            public int eosId() {
                return -1;
            }

            @Override
            public float[] pixelValues(byte[] data, String name) {
                throw new Owl2jException("the load benchmark sends no images");
            }
        };
    }

    private static Path defaultFixture() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.isDirectory(p.resolve("testdata/tiny-owl2-f16"))) p = p.getParent();
        if (p == null) throw new Owl2jException("testdata/tiny-owl2-f16 not found; pass --model DIR");
        return p.resolve("testdata/tiny-owl2-f16");
    }
}
