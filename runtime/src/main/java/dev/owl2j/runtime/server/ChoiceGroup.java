package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.runtime.engine.Engine;
import dev.owl2j.runtime.engine.VisualTokens;
import dev.owl2j.runtime.generation.Generator.FinishReason;

import java.util.ArrayList;
import java.util.List;

/**
 * The choices of one request ({@code n}), admitted together: the images are encoded and the prompt prefilled once,
 * then each further choice continues from a fork of that KV cache (no recomputation; a backend that cannot fork
 * prefills once per choice instead). Each choice samples with its own sampler and seed stream.
 */
final class ChoiceGroup {
    final Scheduler.Request request;
    final List<Sequence> choices;

    ChoiceGroup(Scheduler.Request request, List<Sequence> choices) {
        this.request = request;
        this.choices = choices;
    }

    /** Decoder positions the prompt will take: text ids plus the visual tokens of each image. */
    int estimatedPositions(int tokensPerImage) {
        int images = request.pixelValues() == null ? 0 : request.pixelValues().size();
        return request.ids().length - images + images * tokensPerImage;
    }

    /** Encodes the images, prefills, forks; the choices that join the batch (none when all are done or failed). */
    List<Sequence> admit(Engine engine, ServerMetrics metrics) {
        List<Sequence> live = new ArrayList<>();
        for (Sequence s : choices) {
            if (s.handle.isCancelled()) s.finish(FinishReason.CANCELLED);
            else live.add(s);
        }
        if (live.isEmpty()) return List.of();
        float[] logits;
        // The visual tokens stay where the engine computed them (device memory on a device engine) and are
        // spliced in from there; they are freed once every choice's prefill has read them.
        List<VisualTokens> imageTokens = new ArrayList<>(request.pixelValues().size());
        try {
            for (float[] pixels : request.pixelValues()) imageTokens.add(engine.encode(pixels));
            Engine.Session first = engine.newSession();
            live.getFirst().session = first;
            logits = first.prefillEncoded(request.ids(), imageTokens);
            metrics.promptTokens(first.position());
            for (int i = 1; i < live.size(); i++) live.get(i).session = copyOf(engine, first, imageTokens);
        } catch (Owl2jException e) {
            for (Sequence s : live) s.fail(e);
            return List.of();
        } catch (RuntimeException e) {
            for (Sequence s : live) s.fail(new Owl2jException("prefill failed: " + e, e));
            return List.of();
        } catch (OutOfMemoryError e) {
            for (Sequence s : live) s.fail(new ServerOutOfMemoryException("the prompt of " + request.ids().length + " tokens"));
            return List.of();
        } finally {
            for (VisualTokens v : imageTokens) v.close();
        }
        List<Sequence> joined = new ArrayList<>();
        for (Sequence s : live) {
            s.started(s.session.position());
            if (s.accept(logits)) joined.add(s);
        }
        return joined;
    }

    /** A fork of the prefilled session, or a fresh prefill where the backend cannot fork. */
    private Engine.Session copyOf(Engine engine, Engine.Session first, List<VisualTokens> imageTokens) {
        if (first.capabilities().contains(Engine.Capability.FORK)) return first.fork();
        Engine.Session s = engine.newSession();
        s.prefillEncoded(request.ids(), imageTokens);
        return s;
    }
}
