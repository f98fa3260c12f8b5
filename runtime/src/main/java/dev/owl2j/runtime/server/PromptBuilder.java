package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.owl2j.model.Owl2jException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * From a request's messages (or raw prompt) to what the scheduler needs: prompt ids with an image marker per
 * image, each image's pixel values, and the positions the prompt takes. The expensive steps (image decoding,
 * tokenizing) only start after cheap checks: the image count, and a lower bound on the prompt's tokens from its
 * length, so a 15 MB text is refused before the tokenizer sees it.
 */
final class PromptBuilder {
    static final String IMAGE_MARKER = "<|image|>";
    /** The id an image marker becomes in prompt ids. */
    static final int IMAGE_ID = -200;

    /** A prepared prompt: ids (-200 per image), pixels per image in marker order, decoder positions. */
    record Prompt(String text, int[] ids, List<float[]> pixels, int positions) {}

    private final ServerModel model;
    private final ServerOptions options;
    private final ImageLoader images;

    PromptBuilder(ServerModel model, ServerOptions options, ImageLoader images) {
        this.model = model;
        this.options = options;
        this.images = images;
    }

    int capacity() {
        return model.engine().config().maxPositionEmbeddings();
    }

    int tokensPerImage() {
        return model.engine().config().tokensPerImage();
    }

    private static final Set<String> MESSAGE_FIELDS = Set.of("role", "content");
    private static final Map<String, Fields.Harmless> MESSAGE_HARMLESS = Map.of(
            "tool_calls", new Fields.Harmless(v -> v.isArray() && v.isEmpty(), "the server has no tools"));
    private static final Map<String, String> MESSAGE_REFUSED = Map.of(
            "name", "the model's chat template has no participant names",
            "tool_call_id", "the server has no tools",
            "function_call", "the server has no functions",
            "audio", "the model reads text and images only",
            "refusal", "a refusal is not part of the model's chat template");
    private static final Set<String> TEXT_PART = Set.of("type", "text");
    private static final Set<String> IMAGE_PART = Set.of("type", "image_url");
    private static final Set<String> IMAGE_URL = Set.of("url");
    private static final Map<String, Fields.Harmless> IMAGE_URL_HARMLESS = Map.of(
            "detail", new Fields.Harmless(v -> Fields.isText(v, "auto"), "the model sees every image at one resolution; use 'auto'"));

    /** The conversation's turns; image parts become {@code <|image|>} markers and their URLs are collected in order. */
    List<ServerModel.Turn> turns(JsonNode messages, List<String> imageUrls) {
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiException.badField("messages", "invalid_messages", "'messages' must be a non-empty array");
        }
        List<ServerModel.Turn> turns = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String where = "messages[" + i + "]";
            if (!m.isObject()) throw ApiException.badField(where, "invalid_messages", where + " must be an object");
            Fields.check(m, where + ".", MESSAGE_FIELDS, MESSAGE_HARMLESS, MESSAGE_REFUSED);
            String role = m.path("role").asText("");
            if (role.equals("developer")) role = "system"; // OpenAI's newer name for system instructions
            if (!List.of("system", "user", "assistant").contains(role)) {
                throw ApiException.badField(where + ".role", "invalid_messages", where + ".role must be system, developer, user or assistant, got '"
                        + clip(m.path("role").asText("")) + "'");
            }
            turns.add(new ServerModel.Turn(role, content(m.get("content"), where, imageUrls)));
        }
        return turns;
    }

    private String content(JsonNode content, String where, List<String> imageUrls) {
        if (content == null || content.isNull()) return "";
        if (content.isTextual()) return plainText(content.asText(), where);
        if (!content.isArray()) {
            throw ApiException.badField(where + ".content", "invalid_messages", where + ".content must be a string or an array of parts");
        }
        StringBuilder text = new StringBuilder();
        for (int j = 0; j < content.size(); j++) {
            JsonNode part = content.get(j);
            String pw = where + ".content[" + j + "]";
            if (!part.isObject()) throw ApiException.badField(pw, "invalid_messages", pw + " must be an object");
            String type = part.path("type").asText("");
            switch (type) {
                case "text" -> {
                    Fields.check(part, pw + ".", TEXT_PART, Map.of(), Map.of());
                    if (!part.path("text").isTextual()) throw ApiException.badField(pw + ".text", "invalid_messages", pw + ".text must be a string");
                    text.append(plainText(part.get("text").asText(), pw));
                }
                case "image_url" -> {
                    Fields.check(part, pw + ".", IMAGE_PART, Map.of(), Map.of());
                    JsonNode url = part.path("image_url");
                    if (url.isObject()) Fields.check(url, pw + ".image_url.", IMAGE_URL, IMAGE_URL_HARMLESS, Map.of());
                    String u = url.isTextual() ? url.asText() : url.path("url").isTextual() ? url.get("url").asText() : null;
                    imageUrls.add(u);
                    if (imageUrls.size() > options.maxImages()) throw tooManyImages(imageUrls.size());
                    text.append(IMAGE_MARKER);
                }
                default -> throw ApiException.badField(pw + ".type", "unsupported_content_part",
                        pw + ": unsupported part type '" + clip(type) + "' (use 'text' or 'image_url')");
            }
        }
        return text.toString();
    }

    String render(List<ServerModel.Turn> turns) {
        try {
            return model.renderChat(turns);
        } catch (Owl2jException e) {
            throw ApiException.badRequest("invalid_messages", e.getMessage());
        }
    }

    static String plainText(String s, String where) {
        if (s.contains(IMAGE_MARKER)) {
            throw ApiException.badRequest("invalid_messages", where + ": text must not contain " + IMAGE_MARKER + "; send images as image_url parts");
        }
        return s;
    }

    private ApiException tooManyImages(int n) {
        return ApiException.badRequest("too_many_images", (n > options.maxImages() + 1 ? "more than " + options.maxImages() : n)
                + " images, the limit is " + options.maxImages() + " per request");
    }

    /**
     * Refuses, without tokenizing, a prompt whose length alone proves it cannot fit the context: the model's
     * lower bound on the tokens of {@code text}, plus the positions of its images beyond their markers.
     */
    void checkLength(String text, int imageCount) {
        long atLeast = model.tokenLowerBound(text) + (long) imageCount * (tokensPerImage() - 1);
        if (atLeast >= capacity()) {
            throw ApiException.badRequest("context_length_exceeded", "the prompt is at least " + atLeast
                    + " positions (" + text.length() + " characters), the context holds " + capacity());
        }
    }

    /** The bytes of each remote image (fetched here, on the caller's thread); null for data URIs. */
    List<byte[]> fetchRemote(List<String> urls) {
        if (urls.size() > options.maxImages()) throw tooManyImages(urls.size());
        List<byte[]> out = new ArrayList<>(urls.size());
        for (int i = 0; i < urls.size(); i++) {
            out.add(images.isRemote(urls.get(i)) ? images.load(urls.get(i), "image " + (i + 1)) : null);
        }
        return out;
    }

    /**
     * Decodes the data URIs, checks every image's header, preprocesses the images, tokenizes the text and checks
     * the prompt against the context. CPU-heavy: runs on the front-end pool.
     */
    Prompt prepare(String text, List<String> urls, List<byte[]> fetched) {
        checkLength(text, urls.size());
        List<float[]> pixels = new ArrayList<>();
        for (int i = 0; i < urls.size(); i++) {
            String what = "image " + (i + 1);
            byte[] data = fetched.get(i) != null ? fetched.get(i) : images.load(urls.get(i), what);
            try {
                pixels.add(model.pixelValues(data, what));
            } catch (Owl2jException e) {
                throw ApiException.badRequest("invalid_image", what + ": " + e.getMessage());
            }
        }
        int[] ids;
        try {
            ids = model.encodePrompt(text);
        } catch (Owl2jException e) {
            throw ApiException.badRequest("invalid_prompt", e.getMessage());
        }
        int markers = 0;
        for (int id : ids) if (id == IMAGE_ID) markers++;
        if (markers != pixels.size()) {
            throw ApiException.badRequest("invalid_prompt", "the prompt has " + markers + " image markers for " + pixels.size() + " images");
        }
        int positions = ids.length + markers * (tokensPerImage() - 1);
        if (positions >= capacity()) {
            throw ApiException.badRequest("context_length_exceeded", "the prompt is " + positions
                    + " positions (images count " + tokensPerImage() + " each), the context holds " + capacity());
        }
        return new Prompt(text, ids, pixels, positions);
    }

    /**
     * Client text quoted in an error message: kept short, with control characters escaped (\x0a), so that an error
     * stays one line whatever the client sent (a fuzzing finding: a field name holding a newline).
     */
    static String clip(String s) {
        String cut = s.length() <= 64 ? s : s.substring(0, 64) + "...";
        StringBuilder b = new StringBuilder(cut.length());
        for (int i = 0; i < cut.length(); i++) {
            char c = cut.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029') {
                b.append(String.format("\\x%02x", (int) c));
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }
}
