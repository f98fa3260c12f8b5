package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.TextStream;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The tiny fixture behind a stand-in front end, so the HTTP layer is tested without the real tokenizer and
 * image preprocessor: the fixture's prompt texts (the chat template "USER: ... ASSISTANT:") map to the ids
 * the manifest records, other text to one id per UTF-8 byte (3 + byte, LLaMA's byte-fallback range);
 * generated ids decode as "[id]". Images must be one of the fixture's files and get its golden pixels.
 */
final class StubModel implements ServerModel {
    static final String PROMPT0 = "USER: <|image|>Describe the image. ASSISTANT:";
    static final String PROMPT1 = "USER: What is the capital of France? ASSISTANT:";
    private static final Map<String, String> KNOWN = Map.of(PROMPT0, "prompt0", PROMPT1, "prompt1");
    static final byte[] IMAGE0 = read("image0.png");
    static final byte[] IMAGE1 = read("image1.jpg");

    private final int eos;
    private final Engine engine;

    StubModel(int eos) {
        this(eos, null);
    }

    /** The stand-in front end over another engine (null: the tiny fixture's). */
    StubModel(int eos, Engine engine) {
        this.eos = eos;
        this.engine = engine;
    }

    @Override
    public String id() {
        return "tiny-owl2-f16";
    }

    @Override
    public Engine engine() {
        return engine != null ? engine : TinyFixture.engine();
    }

    @Override
    public String renderChat(List<Turn> turns) {
        StringBuilder b = new StringBuilder();
        for (Turn t : turns) {
            b.append(t.role().equals("assistant") ? "ASSISTANT: " : "USER: ").append(t.text()).append(' ');
        }
        return b.append("ASSISTANT:").toString();
    }

    @Override
    public int[] encodePrompt(String prompt) {
        for (var e : KNOWN.entrySet()) {
            if (prompt.startsWith(e.getKey())) {
                int[] head = TinyFixture.ids(e.getValue());
                int[] tail = bytes(prompt.substring(e.getKey().length()));
                int[] out = Arrays.copyOf(head, head.length + tail.length);
                System.arraycopy(tail, 0, out, head.length, tail.length);
                return out;
            }
        }
        List<Integer> ids = new ArrayList<>(List.of(1));
        String[] parts = prompt.split("<\\|image\\|>", -1);
        for (int i = 0; i < parts.length; i++) {
            if (i > 0) ids.add(-200);
            for (int b : bytes(parts[i])) ids.add(b);
        }
        return ids.stream().mapToInt(Integer::intValue).toArray();
    }

    /** Every UTF-8 byte outside an image marker is at least one id, so the characters bound the ids from below. */
    @Override
    public long tokenLowerBound(String prompt) {
        return prompt.replace(PromptBuilder.IMAGE_MARKER, "").length();
    }

    private static int[] bytes(String s) {
        byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int[] out = new int[b.length];
        for (int i = 0; i < b.length; i++) out[i] = 3 + (b[i] & 0xff);
        return out;
    }

    /** What the stand-in text stream writes for each id ("[id]"); none for the control ids 0-2. */
    @Override
    public byte[] tokenBytes(int id) {
        return id < 3 ? null : ("[" + id + "]").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    }

    @Override
    public TextStream newTextStream() {
        return TinyFixture.idText();
    }

    @Override
    public int eosId() {
        return eos;
    }

    @Override
    public float[] pixelValues(byte[] data, String name) {
        try {
            if (ImageIO.read(new ByteArrayInputStream(data)) == null) throw new Owl2jException("cannot decode the image");
        } catch (IOException e) {
            throw new Owl2jException("cannot decode the image: " + e.getMessage());
        }
        if (Arrays.equals(data, IMAGE0)) return TinyFixture.pixels("image0");
        if (Arrays.equals(data, IMAGE1)) return TinyFixture.pixels("image1");
        throw new Owl2jException("the stub front end knows only the fixture's images");
    }

    private static byte[] read(String name) {
        try {
            return Files.readAllBytes(TinyFixture.DIR.resolve(name));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
