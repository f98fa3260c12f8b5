package dev.owl2j.runtime.engine.device;

import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Launch;
import dev.owl2j.kernels.TaskGraph;

/**
 * Where a forward body's launches go: straight onto the device's queue (prefill, the image encoder, a batched
 * step), or into a {@link TaskGraph} that is built once and replayed for every decode step. Each layer body is
 * written once against this interface and serves both.
 */
interface Launcher {
    /** Adds one launch; {@code task} names it in a task graph and is ignored when launching directly. */
    void launch(String task, Launch launch);

    static Launcher direct(ComputeContext ctx) {
        return (task, launch) -> ctx.launch(launch);
    }

    static Launcher into(TaskGraph graph) {
        return graph::task;
    }
}
