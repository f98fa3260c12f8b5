package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.generation.TokenConstraint;
import dev.owl2j.runtime.generation.TokenVocabulary;
import dev.owl2j.runtime.generation.json.JsonConstraints;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntFunction;

/**
 * What the endpoints share: the model, the settings, the scheduler that owns the engine, the bounded front end
 * (body reading, the preparation pool, prompt building), the served model names and the model's vocabulary for
 * logprob answers and structured output (built on first use).
 */
final class ServerParts {
    private final ServerModel model;
    private final ServerOptions options;
    private final Scheduler scheduler;
    private final RequestBodies bodies;
    private final FrontEnd frontEnd;
    private final PromptBuilder prompts;
    private final List<String> names;
    private TokenVocabulary vocabulary;
    private JsonConstraints constraints;

    ServerParts(ServerModel model, ServerOptions options, Scheduler scheduler, RequestBodies bodies, FrontEnd frontEnd, PromptBuilder prompts) {
        this.model = model;
        this.options = options;
        this.scheduler = scheduler;
        this.bodies = bodies;
        this.frontEnd = frontEnd;
        this.prompts = prompts;
        this.names = options.modelNames().isEmpty() ? List.of(model.id()) : options.modelNames();
    }

    ServerModel model() {
        return model;
    }

    ServerOptions options() {
        return options;
    }

    Scheduler scheduler() {
        return scheduler;
    }

    RequestBodies bodies() {
        return bodies;
    }

    FrontEnd frontEnd() {
        return frontEnd;
    }

    PromptBuilder prompts() {
        return prompts;
    }

    /** The id responses report: the first served name. */
    String modelId() {
        return names.getFirst();
    }

    /** The names a request's {@code model} may use (/v1/models lists them). */
    List<String> modelNames() {
        return names;
    }

    /** A request naming another model than this server's gets 404 model_not_found, as OpenAI answers. */
    void checkModel(JsonNode body) {
        JsonNode m = body.get("model");
        if (m == null || m.isNull()) return;
        if (!m.isTextual()) throw ApiException.badField("model", "invalid_model", "model must be a string");
        if (!names.contains(m.asText())) {
            throw new ApiException(404, "invalid_request_error", "model_not_found", "model", "the model '"
                    + PromptBuilder.clip(m.asText()) + "' does not exist (this server serves " + String.join(", ", names) + ")");
        }
    }

    int vocabSize() {
        return model.engine().config().vocabSize();
    }

    /** Most choices one request may ask for: they all decode in the batch at once. */
    int maxChoices() {
        return options.maxBatch();
    }

    /** The bytes of a token for logprob answers (empty for tokens that write no text). */
    byte[] tokenBytes(int id) {
        byte[] b = vocabulary().bytes()[id];
        return b == null ? new byte[0] : b;
    }

    synchronized TokenVocabulary vocabulary() {
        if (vocabulary == null) {
            byte[][] bytes = new byte[vocabSize()][];
            for (int i = 0; i < bytes.length; i++) bytes[i] = model.tokenBytes(i);
            vocabulary = new TokenVocabulary(bytes, model.eosId());
        }
        return vocabulary;
    }

    private synchronized JsonConstraints constraints() {
        if (constraints == null) constraints = new JsonConstraints(vocabulary());
        return constraints;
    }

    private static final Set<String> FORMAT_FIELDS = Set.of("type", "json_schema");
    private static final Set<String> SCHEMA_FIELDS = Set.of("name", "schema", "strict", "description");

    /** OpenAI's response_format: null for plain text, else the constraint that makes the reply JSON of the schema. */
    TokenConstraint.Factory responseFormat(JsonNode rf) {
        if (rf == null || rf.isNull()) return null;
        if (!rf.isObject()) throw ApiException.badField("response_format", "invalid_response_format", "response_format must be an object");
        Fields.check(rf, "response_format.", FORMAT_FIELDS, Map.of(), Map.of());
        String type = rf.path("type").asText("");
        switch (type) {
            case "text" -> {
                return null;
            }
            case "json_object" -> {
                return constraints().anyObject();
            }
            case "json_schema" -> {
                JsonNode js = rf.get("json_schema");
                if (js == null || !js.isObject()) {
                    throw ApiException.badField("response_format.json_schema", "invalid_response_format", "response_format.json_schema must be an object");
                }
                Fields.check(js, "response_format.json_schema.", SCHEMA_FIELDS, Map.of(), Map.of());
                if (!js.path("name").isTextual() || js.get("name").asText().isEmpty()) {
                    throw ApiException.badField("response_format.json_schema.name", "invalid_response_format", "response_format.json_schema.name must be a non-empty string");
                }
                if (Fields.present(js, "strict") && !js.get("strict").isBoolean()) {
                    throw ApiException.badField("response_format.json_schema.strict", "invalid_response_format", "response_format.json_schema.strict must be true or false");
                }
                JsonNode schema = js.get("schema");
                if (schema == null || schema.isNull()) {
                    throw ApiException.badField("response_format.json_schema.schema", "invalid_response_format", "response_format.json_schema.schema is required");
                }
                try {
                    return constraints().schema(schema, "response_format.json_schema.schema");
                } catch (Owl2jException e) {
                    throw ApiException.badField("response_format.json_schema.schema", "invalid_response_format", e.getMessage());
                }
            }
            default -> throw ApiException.badField("response_format.type", "invalid_response_format",
                    "response_format.type must be text, json_object or json_schema, got '" + PromptBuilder.clip(type) + "'");
        }
    }

    /** Queues a generation of one or more choices; a full queue is a 429, a stopping server a 503. */
    List<Scheduler.Handle> submitChoices(Scheduler.Request request, IntFunction<Scheduler.Listener> listeners) {
        try {
            return scheduler.submitChoices(request, listeners);
        } catch (QueueFullException e) {
            throw new ApiException(429, "server_busy", "queue_full", e.getMessage());
        } catch (ShuttingDownException e) {
            throw new ApiException(503, "server_error", "shutting_down", e.getMessage());
        }
    }
}
