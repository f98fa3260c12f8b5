package dev.owl2j.runtime.cli;

import dev.owl2j.model.TestData;
import dev.owl2j.model.image.AspectMode;
import dev.owl2j.model.tokenizer.ChatTemplate;
import dev.owl2j.model.tokenizer.PromptTokenizer;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.generation.Generator;
import dev.owl2j.runtime.generation.SamplingParams;
import dev.owl2j.runtime.model.LoadedModel;
import dev.owl2j.runtime.model.ModelOptions;
import dev.owl2j.runtime.model.Prompts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A second chat turn appended to the cached conversation gives the same answer as recomputing the whole
 * conversation (first prompt, first answer, EOS, second turn) in a fresh session.
 */
class ChatConversationTest {
    @Test
    void secondTurnOnTheCacheEqualsFullRecompute(@TempDir Path home) {
        System.setProperty("owl2j.cacheHome", home.toString());
        try {
            ModelOptions options = new ModelOptions();
            options.backend = "cpu";
            Path image = findTestdata().resolve("tiny-owl2-f16/image0.png");
            try (LoadedModel model = LoadedModel.open(options, null)) {
                PromptTokenizer prompts = new PromptTokenizer(model.tokenizer());
                SamplingOptions greedy = new SamplingOptions();
                greedy.temperature = 0;
                greedy.topK = 0;
                greedy.maxNewTokens = 5;
                greedy.stop = List.of();

                ChatCommand.Conversation conv = new ChatCommand.Conversation(model);
                List<Integer> first = new ArrayList<>();
                List<Integer> second = new ArrayList<>();
                conv.turn(prompts, "<|image|>What is in the picture?", List.of(image), AspectMode.PAD, greedy, (id, d) -> {
                    if (id >= 0) first.add(id);
                });
                conv.turn(prompts, "Tell me more.", List.of(), AspectMode.PAD, greedy, (id, d) -> {
                    if (id >= 0) second.add(id);
                });
                conv.close();

                int[] turn1 = prompts.encode(ChatTemplate.singleTurn("<|image|>What is in the picture?"));
                int[] turn2 = prompts.encodeContinuation(ChatTemplate.nextTurn("Tell me more."));
                int[] all = new int[turn1.length + first.size() + 1 + turn2.length];
                int k = 0;
                for (int id : turn1) all[k++] = id;
                for (int id : first) all[k++] = id;
                all[k++] = model.eosId();
                for (int id : turn2) all[k++] = id;

                Engine.Session fresh = model.engine().newSession();
                float[] logits = fresh.prefill(all, Prompts.encode(model, List.of(image), AspectMode.PAD).toHost());
                Generator.Result r = Generator.generate(fresh, logits, SamplingParams.greedy(5), model.eosId(),
                        Texts.none(), null, null);
                List<Integer> recomputed = new ArrayList<>();
                for (int id : r.tokens()) recomputed.add(id);
                assertEquals(recomputed, second);
            }
        } finally {
            System.clearProperty("owl2j.cacheHome");
        }
    }

    static Path findTestdata() {
        return TestData.root();
    }
}
