package dev.owl2j.runtime.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.model.tokenizer.ChatTemplate;
import dev.owl2j.model.tokenizer.PromptTokenizer;
import dev.owl2j.runtime.model.LoadedModel;
import dev.owl2j.runtime.model.ImageFiles;
import dev.owl2j.runtime.model.ModelOptions;
import dev.owl2j.runtime.model.Prompts;
import dev.owl2j.runtime.server.Scorer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code owl2j score}: log-probabilities of candidate answers to one prompt about images, from one prefill
 * (the Q-Align way of rating images: the probability of "good" vs "poor" after the question).
 */
@Command(name = "score", mixinStandardHelpOptions = true,
        description = "Log-probability of each candidate answer (e.g. ' good', ' poor') to a prompt about images.")
public final class ScoreCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"--image", "-i"}, paramLabel = "FILE", description = "Images, in the order of the <|image|> markers.")
    List<Path> images = new ArrayList<>();

    @Option(names = {"--prompt", "-p"}, required = true, paramLabel = "TEXT",
            description = "The question; the chat template is applied unless --raw, and the candidates follow 'ASSISTANT:'.")
    String prompt;

    @Option(names = "--raw", description = "Use the prompt exactly as given.")
    boolean raw;

    @Option(names = {"--candidate", "-c"}, required = true, paramLabel = "TEXT", description = "A candidate answer (repeatable).")
    List<String> candidates;

    @Option(names = "--aspect", defaultValue = "pad", paramLabel = "pad|resize|crop",
            description = "How a non-square image becomes square: pad (to a square in the mean colour), resize (stretch) or crop (centre) (default: ${DEFAULT-VALUE}).")
    String aspect;

    @Option(names = "--output", defaultValue = "text", paramLabel = "text|json",
            description = "text: one line per candidate (log-probability, candidate); json: one object with every token's log-probability (default: ${DEFAULT-VALUE}).")
    String output;

    @Override
    public Integer call() {
        boolean json = output.equals("json");
        if (!json && !output.equals("text")) {
            throw new Owl2jException("unknown --output '" + output + "': use text or json");
        }
        AspectMode mode = AspectMode.parse(aspect);
        ImageFiles.check(images);
        try (LoadedModel model = LoadedModel.open(modelOptions, System.err)) {
            PromptTokenizer tok = new PromptTokenizer(model.tokenizer(ChatCommand.TOKENIZER_HINT));
            String text = raw ? prompt : ChatTemplate.singleTurn(
                    PromptTokenizer.countImages(prompt) == 0 ? PromptTokenizer.IMAGE_MARKER.repeat(images.size()) + prompt : prompt);
            int[] promptIds = tok.encode(text);
            Prompts.validate(model.config(), promptIds, images.size(), 0);
            // A candidate's tokens are those of prompt+candidate beyond the prefix shared with the prompt, so
            // the tokenizer's merges across the boundary are the ones the model itself would have produced.
            List<int[]> fulls = new ArrayList<>();
            int shared = promptIds.length;
            for (String c : candidates) {
                if (c.isEmpty()) throw new Owl2jException("a --candidate is empty");
                int[] full = tok.encode(text + c);
                fulls.add(full);
                int k = 0;
                while (k < Math.min(full.length, promptIds.length) && full[k] == promptIds[k]) k++;
                shared = Math.min(shared, k);
            }
            int[] sharedIds = Arrays.copyOf(promptIds, shared);
            if (Prompts.countImages(sharedIds) != images.size()) {
                throw new Owl2jException("the candidates change how the prompt's images are tokenized");
            }
            List<int[]> candidateIds = new ArrayList<>();
            for (int i = 0; i < fulls.size(); i++) {
                int[] t = Arrays.copyOfRange(fulls.get(i), shared, fulls.get(i).length);
                if (Prompts.countImages(t) > 0) throw new Owl2jException("candidate '" + candidates.get(i) + "' contains an image marker");
                candidateIds.add(t);
                Prompts.validate(model.config(), concat(sharedIds, t), images.size(), 0);
            }
            List<float[]> imageTokens;
            try (Prompts.EncodedImages encoded = Prompts.encode(model, images, mode)) {
                imageTokens = encoded.toHost();
            }
            List<Scorer.CandidateScore> scores = Scorer.score(model.engine(), sharedIds, imageTokens, candidateIds);
            ObjectMapper mapper = new ObjectMapper();
            ArrayNode arr = mapper.createArrayNode();
            for (int i = 0; i < scores.size(); i++) {
                Scorer.CandidateScore s = scores.get(i);
                if (json) {
                    ObjectNode o = arr.addObject();
                    o.put("candidate", candidates.get(i));
                    o.put("logprob", s.logprob());
                    ArrayNode ids = o.putArray("token_ids");
                    for (int id : s.tokens()) ids.add(id);
                    ArrayNode lps = o.putArray("token_logprobs");
                    for (double lp : s.tokenLogprobs()) lps.add(lp);
                } else {
                    System.out.println(String.format(Locale.ROOT, "%12.6f  %s", s.logprob(), mapper.valueToTree(candidates.get(i))));
                }
            }
            if (json) {
                ObjectNode root = mapper.createObjectNode();
                root.set("scores", arr);
                System.out.println(root);
            }
            System.out.flush();
        }
        return 0;
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
