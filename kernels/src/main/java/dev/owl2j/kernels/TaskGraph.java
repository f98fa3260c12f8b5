package dev.owl2j.kernels;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A named sequence of kernel launches with declared data movement, in the shape of TornadoVM's TaskGraph:
 * <ul>
 *   <li>{@link #transferToDevice} with {@link Mode#FIRST_EXECUTION} (data uploaded on the first run only) or
 *       {@link Mode#EVERY_EXECUTION} (small per-step inputs: token id, position, kept in host int/float arrays
 *       the caller updates between runs);</li>
 *   <li>{@link #resident} buffers already on the device that stay there (weights, KV cache, activations);</li>
 *   <li>{@link #task} kernel launches whose buffer arguments are wrapped in {@link Launch.Access} in/out, either
 *       already built ({@link Launch}) or, TornadoVM's way, a kernel written in Java ({@link KernelRef}: a method
 *       reference or class and name) with its grid and arguments, compiled for the device when the plan is
 *       built;</li>
 *   <li>{@link #transferToHost} outputs copied back after every run (logits, the argmax token).</li>
 * </ul>
 * {@link #plan(ComputeContext)} checks that every buffer a task reads has a producer (a transfer, a resident
 * declaration or an earlier task) and builds the device's {@link ExecutionPlan} once.
 */
public final class TaskGraph {
    public enum Mode { FIRST_EXECUTION, EVERY_EXECUTION }

    /** Host array → device buffer (at element offset 0). host is an int[] or float[]. */
    public record Upload(Mode mode, Buffer target, Object host) {}

    /** Device buffer (from element offset 0) → host array, after every run. host is an int[] or float[]. */
    public record Download(Buffer source, Object host) {}

    public record Task(String name, Launch launch) {}

    /** A task naming a Java kernel, compiled and turned into a Launch by {@link #plan}. */
    private record JavaTask(int index, String name, KernelRef kernel, long[] global, long[] local, Object[] args) {}

    private final String name;
    private final List<Upload> uploads = new ArrayList<>();
    private final List<Task> tasks = new ArrayList<>();
    private final List<JavaTask> javaTasks = new ArrayList<>();
    private final List<Download> downloads = new ArrayList<>();
    private final Set<Buffer> resident = Collections.newSetFromMap(new IdentityHashMap<>());

    public TaskGraph(String name) {
        this.name = name;
    }

    public String name() {
        return name;
    }

    public TaskGraph transferToDevice(Mode mode, Buffer target, int[] host) {
        return addUpload(mode, target, host, host.length * 4L);
    }

    public TaskGraph transferToDevice(Mode mode, Buffer target, float[] host) {
        return addUpload(mode, target, host, host.length * 4L);
    }

    private TaskGraph addUpload(Mode mode, Buffer target, Object host, long bytes) {
        if (bytes > target.bytes()) {
            throw new DeviceException("task graph " + name + ": upload of " + bytes + " bytes into a buffer of " + target.bytes());
        }
        uploads.add(new Upload(mode, target, host));
        return this;
    }

    public TaskGraph resident(Buffer... buffers) {
        Collections.addAll(resident, buffers);
        return this;
    }

    public TaskGraph task(String taskName, Launch launch) {
        tasks.add(new Task(taskName, launch));
        return this;
    }

    /**
     * A kernel written in Java, launched on global work-items in groups of local, with its arguments in the
     * method's order: buffers (optionally wrapped in {@link Launch.Access}) for arrays, boxed numbers for scalars;
     * the KernelContext argument may be given (a {@code new KernelContext()}, as with TornadoVM) or left out.
     */
    public TaskGraph task(String taskName, KernelRef kernel, long[] global, long[] local, Object... args) {
        javaTasks.add(new JavaTask(tasks.size(), taskName, kernel, global.clone(), local.clone(), args.clone()));
        tasks.add(null);
        return this;
    }

    public TaskGraph transferToHost(Buffer source, float[] host) {
        return addDownload(source, host, host.length * 4L);
    }

    public TaskGraph transferToHost(Buffer source, int[] host) {
        return addDownload(source, host, host.length * 4L);
    }

    private TaskGraph addDownload(Buffer source, Object host, long bytes) {
        if (bytes > source.bytes()) {
            throw new DeviceException("task graph " + name + ": download of " + bytes + " bytes from a buffer of " + source.bytes());
        }
        downloads.add(new Download(source, host));
        return this;
    }

    public List<Upload> uploads() {
        return List.copyOf(uploads);
    }

    /** The tasks; a Java-kernel task has no Launch before {@link #plan} (null entries). */
    public List<Task> tasks() {
        return java.util.Collections.unmodifiableList(new ArrayList<>(tasks));
    }

    public List<Download> downloads() {
        return List.copyOf(downloads);
    }

    /** Checks the declared data flow; throws DeviceException naming the first task reading a buffer nobody produced. */
    public void validate() {
        if (!javaTasks.isEmpty()) throw new DeviceException("task graph " + name + ": Java kernels are compiled when the plan is built; validate that graph");
        Map<Buffer, String> produced = new IdentityHashMap<>();
        for (Buffer b : resident) produced.put(b, "resident");
        for (Upload u : uploads) produced.put(u.target(), "upload");
        for (Task t : tasks) {
            for (Object a : t.launch().args()) {
                Buffer b = Launch.bufferOf(a);
                boolean reads = !(a instanceof Launch.Access acc) || acc.reads();
                if (b != null && reads && !produced.containsKey(b)) {
                    throw new DeviceException("task graph " + name + ": task '" + t.name()
                            + "' reads a buffer that no transfer, resident declaration or earlier task provides");
                }
            }
            for (Object a : t.launch().args()) {
                Buffer b = Launch.bufferOf(a);
                if (b != null) produced.putIfAbsent(b, t.name());
            }
        }
        for (Download d : downloads) {
            if (!produced.containsKey(d.source())) {
                throw new DeviceException("task graph " + name + ": a download reads a buffer nothing produces");
            }
        }
    }

    /** Compiles the Java kernels for this device, validates and builds the plan. */
    public ExecutionPlan plan(ComputeContext context) {
        TaskGraph g = javaTasks.isEmpty() ? this : resolved(context);
        g.validate();
        return context.plan(g);
    }

    /** This graph with every Java-kernel task compiled (one program for all of them) and turned into a Launch. */
    private TaskGraph resolved(ComputeContext context) {
        java.util.LinkedHashMap<String, KernelRef> byName = new java.util.LinkedHashMap<>();
        for (JavaTask t : javaTasks) {
            KernelRef old = byName.putIfAbsent(t.kernel().name(), t.kernel());
            if (old != null && !old.equals(t.kernel())) {
                throw new DeviceException("task graph " + name + ": two different kernels named " + t.kernel().name());
            }
        }
        KernelRef first = byName.values().iterator().next();
        KernelProgram program = KernelProgram.of(name, first.loader(), byName.values().stream().map(KernelRef::method).toList());
        Program compiled = context.compile(program, "");
        TaskGraph g = new TaskGraph(name);
        g.uploads.addAll(uploads);
        g.downloads.addAll(downloads);
        g.resident.addAll(resident);
        g.tasks.addAll(tasks);
        for (JavaTask t : javaTasks) {
            Kernel k = compiled.kernel(t.kernel().name());
            List<Object> args = new ArrayList<>();
            for (Object a : t.args()) if (!(a instanceof dev.owl2j.kernels.lang.KernelContext)) args.add(a);
            g.tasks.set(t.index(), new Task(t.name(), new Launch(k, t.global(), t.local(), args.toArray())));
        }
        return g;
    }
}
