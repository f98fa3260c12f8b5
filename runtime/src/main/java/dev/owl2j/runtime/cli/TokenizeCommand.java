package dev.owl2j.runtime.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.tokenizer.PromptTokenizer;
import dev.owl2j.model.tokenizer.Tokenizer;
import dev.owl2j.runtime.model.ModelOptions;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code owl2j tokenize}: prompt text to ids (the model's rule: BOS, {@code <|image|>} -> -200) or ids to text.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Turn text into token ids (or ids into text) with a model's tokenizer.")
public final class TokenizeCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    static final class Source {
        @Option(names = "--model", paramLabel = "DIR|ID", description = "a checkpoint folder (tokenizer.model or tokenizer.json) or a pulled repository id; default: the embedded default model's tokenizer")
        String model;
        @Option(names = "--tokenizer", paramLabel = "FILE", description = "tokenizer.model, tokenizer.json or .json.gz")
        Path tokenizer;
    }

    static final class Input {
        @Option(names = "--text", paramLabel = "TEXT", description = "text to encode")
        String text;
        @Option(names = "--json-lines", paramLabel = "FILE", description = "file with one JSON string per line to encode")
        Path jsonLines;
        @Option(names = "--decode", paramLabel = "IDS", description = "comma-separated ids to decode (special tokens skipped)")
        String decode;
    }

    @ArgGroup(exclusive = true, multiplicity = "0..1")
    Source source;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    @Option(names = "--output", paramLabel = "json|text", defaultValue = "json", description = "json (one {\"ids\":[...]} or {\"text\":...} line per input) or text (ids separated by spaces, or the decoded text)")
    String output;

    @Option(names = "--no-bos", description = "do not add BOS (encodes as a continuation of an earlier prompt)")
    boolean noBos;

    /** Made when the command runs: picocli creates every command to print any help, and --help needs no JSON. */
    private ObjectMapper json;

    private ObjectMapper json() {
        if (json == null) json = new ObjectMapper();
        return json;
    }

    @Override
    public Integer call() {
        if (!output.equals("json") && !output.equals("text")) {
            throw new Owl2jException("--output must be json or text, not '" + output + "'");
        }
        Tokenizer tokenizer = source != null && source.tokenizer != null ? Tokenizer.load(source.tokenizer)
                : Tokenizer.fromModelDir(ModelOptions.locate(source == null ? null : source.model, System.err).dir());
        PrintWriter out = spec.commandLine().getOut();
        if (input.decode != null) {
            String text = tokenizer.decode(parseIds(input.decode));
            if (output.equals("json")) {
                ObjectNode o = json().createObjectNode();
                o.put("text", text);
                out.println(o);
            } else {
                out.println(text);
            }
            out.flush();
            return 0;
        }
        PromptTokenizer prompts = new PromptTokenizer(tokenizer);
        for (String text : texts()) {
            int[] ids = noBos ? prompts.encodeContinuation(text) : prompts.encode(text);
            if (output.equals("json")) {
                ObjectNode o = json().createObjectNode();
                ArrayNode a = o.putArray("ids");
                for (int id : ids) {
                    a.add(id);
                }
                out.println(o);
            } else {
                StringBuilder b = new StringBuilder();
                for (int id : ids) {
                    b.append(b.isEmpty() ? "" : " ").append(id);
                }
                out.println(b);
            }
        }
        out.flush();
        return 0;
    }

    private List<String> texts() {
        if (input.text != null) {
            return List.of(input.text);
        }
        List<String> lines;
        try {
            lines = Files.readAllLines(input.jsonLines, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Owl2jException("cannot read " + input.jsonLines + ": " + e.getMessage());
        }
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            JsonNode n;
            try {
                n = json().readTree(lines.get(i));
            } catch (JsonProcessingException e) {
                n = null;
            }
            if (n == null || !n.isTextual()) {
                throw new Owl2jException(input.jsonLines + " line " + (i + 1) + " is not a JSON string");
            }
            texts.add(n.asText());
        }
        return texts;
    }

    private static int[] parseIds(String s) {
        String[] parts = s.trim().isEmpty() ? new String[0] : s.split(",");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new Owl2jException("--decode expects comma-separated integers, got '" + parts[i].trim() + "'");
            }
        }
        return ids;
    }
}
