package dev.owl2j.model.tokenizer;

import dev.owl2j.model.Owl2jException;

import java.util.List;

/**
 * The {@code mplug_owl2} conversation template (separator style TWO_NO_SYS; docs/model.md, Tokenizer and prompts): no system prompt; each turn
 * is {@code ROLE + ": " + text + sep} with sep = " " after a user turn and sep2 = "</s>" after an assistant turn;
 * a turn with empty text renders as {@code ROLE + ":"}, which is how the open assistant slot
 * {@code "ASSISTANT:"} (no trailing space) ends every prompt. Put {@link PromptTokenizer#IMAGE_MARKER} at the start
 * of the first user text.
 *
 * <p><b>Multi-turn with a KV cache and sep2.</b> The reference re-renders the whole conversation each turn,
 * {@code "USER: <|image|>Q1 ASSISTANT: A1</s>USER: Q2 ASSISTANT:"}; the slow tokenizer turns the {@code "</s>"}
 * text into the EOS id 2, and (legacy mode, the transformers 4.31 default; the release's tokenizer_config.json was
 * not readable, see docs/tokenizer.md) the text after it gets its own dummy prefix ("▁US"). The engine instead
 * keeps its cache and appends: {@code encode(render(turns))}, then the generated answer ids, then
 * <b>the EOS id the model generated, which stands for sep2</b> (it is the same id 2 the "</s>" text would become, so
 * sep2 is never written as text and never tokenized again), then
 * {@code encodeContinuation(nextTurn(q))}. This equals the reference's ids when the answer text (decoded with
 * special tokens skipped, as the web worker stores it) re-tokenizes to the generated ids, which holds for ordinary
 * answers. Two reference quirks are deliberately not copied: the CLI keeps a trailing "</s>" in the stored answer,
 * so its re-rendered prompt has "</s></s>" (ids 2, 2); and when generation stops on max_new_tokens without EOS the
 * caller must still append {@link Tokenizer#eosId()} before {@link #nextTurn}, because the template always writes
 * sep2 after an assistant turn.
 */
public final class ChatTemplate {
    private ChatTemplate() {}

    public static final String USER = "user";
    public static final String ASSISTANT = "assistant";
    static final String SEP = " ";
    static final String SEP2 = "</s>";

    /** One conversation turn; role is {@code "user"} or {@code "assistant"}. */
    public record Turn(String role, String text) {}

    /** {@code "USER: " + userText + " ASSISTANT:"}. */
    public static String singleTurn(String userText) {
        return render(List.of(new Turn(USER, userText)));
    }

    /**
     * The whole conversation ending with the open assistant slot. Turns alternate user, assistant, starting with
     * user; the last one is a user turn (or an assistant turn with empty text, which is the open slot itself).
     */
    public static String render(List<Turn> turns) {
        if (turns.isEmpty()) {
            throw new Owl2jException("a conversation needs at least one user turn");
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < turns.size(); i++) {
            Turn t = turns.get(i);
            String want = i % 2 == 0 ? USER : ASSISTANT;
            if (t == null || !want.equals(t.role())) {
                throw new Owl2jException("turn " + (i + 1) + " must have role '" + want + "' (turns alternate, user first)");
            }
            appendTurn(b, t.role(), t.text(), i % 2 == 0 ? SEP : SEP2);
        }
        Turn last = turns.getLast();
        if (last.role().equals(USER)) {
            b.append("ASSISTANT:");
        } else if (last.text() != null && !last.text().isEmpty()) {
            throw new Owl2jException("the conversation ends with an answered assistant turn; add the next user turn");
        }
        return b.toString();
    }

    /**
     * The text of the next user turn after a finished answer and its EOS: {@code "USER: " + userText
     * + " ASSISTANT:"}, tokenized with {@link PromptTokenizer#encodeContinuation}. The preceding sep2 "</s>" is
     * not part of it: it is the EOS id already in the sequence (see the class comment).
     */
    public static String nextTurn(String userText) {
        StringBuilder b = new StringBuilder();
        appendTurn(b, USER, userText, SEP);
        return b.append("ASSISTANT:").toString();
    }

    private static void appendTurn(StringBuilder b, String role, String text, String sep) {
        String name = role.equals(USER) ? "USER" : "ASSISTANT";
        if (text != null && !text.isEmpty()) {
            b.append(name).append(": ").append(text).append(sep);
        } else {
            b.append(name).append(':');
        }
    }
}
