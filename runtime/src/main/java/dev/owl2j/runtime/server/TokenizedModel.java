package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.config.GenerationConfig;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.model.image.ImagePreprocessor;
import dev.owl2j.model.tokenizer.ChatTemplate;
import dev.owl2j.model.tokenizer.PromptTokenizer;
import dev.owl2j.model.tokenizer.StreamingDecoder;
import dev.owl2j.model.tokenizer.Tokenizer;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.TextStream;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link ServerModel} from the project's parts: the engine, the LLaMA tokenizer with the mplug_owl2 chat
 * template ({@link ChatTemplate}), the CLIP image preprocessor and the checkpoint's generation defaults.
 *
 * <p>OpenAI conversations are mapped onto the template, which knows only alternating user/assistant turns:
 * system messages are put in front of the next user message, and consecutive messages of one role are
 * joined with a newline.
 */
public final class TokenizedModel implements ServerModel {
    private final String id;
    private final Engine engine;
    private final Tokenizer tokenizer;
    private final PromptTokenizer prompts;
    private final ImagePreprocessor preprocessor;
    private final GenerationConfig generation;
    private final AspectMode aspect;

    public TokenizedModel(String id, Engine engine, Tokenizer tokenizer, ImagePreprocessor preprocessor,
                          GenerationConfig generation, AspectMode aspect) {
        this.id = id;
        this.engine = engine;
        this.tokenizer = tokenizer;
        this.prompts = new PromptTokenizer(tokenizer);
        this.preprocessor = preprocessor;
        this.generation = generation;
        this.aspect = aspect;
    }

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
        List<ChatTemplate.Turn> out = new ArrayList<>();
        StringBuilder system = new StringBuilder();
        for (Turn t : turns) {
            switch (t.role()) {
                case "system" -> system.append(system.isEmpty() ? "" : "\n").append(t.text());
                case "user" -> {
                    String text = system.isEmpty() ? t.text() : system + "\n" + t.text();
                    system.setLength(0);
                    append(out, ChatTemplate.USER, text);
                }
                case "assistant" -> {
                    if (out.isEmpty()) {
                        throw new Owl2jException("the conversation must start with a user message (an assistant message came first)");
                    }
                    append(out, ChatTemplate.ASSISTANT, t.text());
                }
                default -> throw new Owl2jException("unknown role '" + t.role() + "'");
            }
        }
        if (!system.isEmpty()) {
            append(out, ChatTemplate.USER, system.toString());
        }
        if (out.isEmpty()) {
            throw new Owl2jException("the conversation has no user message");
        }
        return ChatTemplate.render(out);
    }

    private static void append(List<ChatTemplate.Turn> out, String role, String text) {
        if (!out.isEmpty() && out.getLast().role().equals(role)) {
            out.set(out.size() - 1, new ChatTemplate.Turn(role, out.getLast().text() + "\n" + text));
        } else {
            out.add(new ChatTemplate.Turn(role, text));
        }
    }

    @Override
    public int[] encodePrompt(String prompt) {
        return prompts.encode(prompt);
    }

    @Override
    public long tokenLowerBound(String prompt) {
        // An image marker is one id for its nine characters: leave the markers out of the count.
        return tokenizer.tokenLowerBound(prompt.replace(PromptBuilder.IMAGE_MARKER, ""));
    }

    @Override
    public byte[] tokenBytes(int id) {
        return id >= 0 && id < tokenizer.vocabSize() ? tokenizer.tokenBytes(id) : null;
    }

    @Override
    public TextStream newTextStream() {
        StreamingDecoder d = tokenizer.newStreamingDecoder();
        return new TextStream() {
            @Override
            public String push(int tokenId) {
                return d.accept(tokenId);
            }

            @Override
            public String flush() {
                return d.finish();
            }
        };
    }

    @Override
    public int eosId() {
        return generation.eosTokenId();
    }

    @Override
    public float[] pixelValues(byte[] data, String name) {
        return preprocessor.pixelValues(data, name, aspect);
    }

    @Override
    public double defaultTemperature() {
        return generation.temperature() != null ? generation.temperature() : 1.0;
    }

    @Override
    public double defaultTopP() {
        return generation.topP() != null ? generation.topP() : 1.0;
    }

    @Override
    public int defaultTopK() {
        return generation.topK() != null ? generation.topK() : 0;
    }
}
