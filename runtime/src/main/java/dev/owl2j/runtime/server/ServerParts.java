package dev.owl2j.runtime.server;

/**
 * What the endpoints share: the model, the settings, the scheduler that owns the engine, and the bounded
 * front end (body reading, the preparation pool, prompt building).
 */
record ServerParts(ServerModel model, ServerOptions options, Scheduler scheduler, RequestBodies bodies,
                   FrontEnd frontEnd, PromptBuilder prompts) {
    /** The id responses report: the first served model name, else the model's own. */
    String modelId() {
        return options.modelNames().isEmpty() ? model.id() : options.modelNames().getFirst();
    }

    /** Queues a generation; a full queue is a 429, a stopping server a 503. */
    Scheduler.Handle submit(Scheduler.Request request, Scheduler.Listener listener) {
        try {
            return scheduler.submit(request, listener);
        } catch (QueueFullException e) {
            throw new ApiException(429, "server_busy", "queue_full", e.getMessage());
        } catch (ShuttingDownException e) {
            throw new ApiException(503, "server_error", "shutting_down", e.getMessage());
        }
    }
}
