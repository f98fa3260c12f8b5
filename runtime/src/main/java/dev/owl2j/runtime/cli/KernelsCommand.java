package dev.owl2j.runtime.cli;

import dev.owl2j.kernels.Api;
import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.ComputeContext;
import dev.owl2j.kernels.Device;
import dev.owl2j.kernels.DeviceException;
import dev.owl2j.kernels.Devices;
import dev.owl2j.kernels.KernelBench;
import dev.owl2j.kernels.KernelProgram;
import dev.owl2j.kernels.KernelSignature;
import dev.owl2j.kernels.Kernels;
import dev.owl2j.kernels.Launch;
import dev.owl2j.kernels.Program;
import dev.owl2j.kernels.compiler.KernelCompiler.KernelMethod;
import dev.owl2j.kernels.compiler.Capabilities;
import dev.owl2j.kernels.compiler.target.CudaTarget;
import dev.owl2j.kernels.compiler.target.GlslTarget;
import dev.owl2j.kernels.compiler.target.OpenClTarget;
import dev.owl2j.kernels.compiler.target.Target;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.format.SafetensorsFile;
import dev.owl2j.model.format.SafetensorsWriter;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code owl2j kernels emit|run|bench}: for people who write kernels in Java (docs/kernels.md). emit shows the
 * OpenCL C, CUDA C++ or Vulkan GLSL the compiler makes of a class's kernels; run runs one kernel on the JVM,
 * OpenCL, CUDA or Vulkan with arrays from a safetensors file and writes them back; bench times every model kernel at 7B shapes.
 */
@Command(name = "kernels", mixinStandardHelpOptions = true,
        description = "Compile, run and time kernels written in Java (docs/kernels.md).",
        subcommands = {KernelsCommand.Emit.class, KernelsCommand.Run.class, KernelsCommand.Bench.class})
public final class KernelsCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** Loads kernel classes from a directory of .class files (parent: owl2j's own loader, for the kernel language). */
    static ClassLoader loader(Path classPath) {
        if (!Files.isDirectory(classPath)) throw new Owl2jException("--class-path " + classPath + " is not a directory");
        try {
            return new URLClassLoader(new URL[]{classPath.toUri().toURL()}, KernelsCommand.class.getClassLoader());
        } catch (MalformedURLException e) {
            throw new Owl2jException("--class-path " + classPath + ": " + e.getMessage());
        }
    }

    static Class<?> load(ClassLoader loader, String name) {
        try {
            return Class.forName(name, false, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new Owl2jException("class " + name + " not found in the --class-path (" + e.getMessage() + ")");
        }
    }

    /** The kernels to compile: the named methods, or every public static void method taking a KernelContext. */
    static KernelProgram program(Path classPath, String className, List<String> kernels) {
        ClassLoader loader = loader(classPath);
        Class<?> cls = load(loader, className);
        List<KernelMethod> ms = new ArrayList<>();
        if (kernels == null || kernels.isEmpty()) {
            KernelProgram all = KernelProgram.of(cls.getSimpleName(), cls);
            ms.addAll(all.kernels());
        } else {
            for (String k : kernels) ms.add(new KernelMethod(className, k));
        }
        if (ms.isEmpty()) throw new Owl2jException(className + " has no kernels (public static void methods taking a KernelContext)");
        return KernelProgram.of(cls.getSimpleName(), loader, ms);
    }

    /** A device error the user caused (a refused construct, a bad argument) as one line. */
    static Owl2jException userError(DeviceException e) {
        return new Owl2jException(e.getMessage().lines().findFirst().orElse(e.getMessage())
                + (e.getMessage().contains("\n") ? " (more with --debug)" : ""));
    }

    @Command(name = "emit", mixinStandardHelpOptions = true,
            description = "Print the OpenCL C, CUDA C++ or Vulkan GLSL the compiler makes of a class's kernels.")
    static final class Emit implements Runnable {
        @Spec
        CommandSpec spec;

        @Option(names = "--target", paramLabel = "opencl|cuda|glsl", defaultValue = "opencl",
                description = "Language to emit (default: ${DEFAULT-VALUE}; glsl: the Vulkan compute shaders, as for a device with shaderInt64).")
        String target;

        @Option(names = "--class-path", paramLabel = "DIR", required = true, description = "Directory of the compiled kernel classes (javac -g -parameters keeps the Java names).")
        Path classPath;

        @Option(names = "--class", paramLabel = "NAME", required = true, description = "Binary name of the class, e.g. com.example.MyKernels.")
        String className;

        @Option(names = "--kernel", paramLabel = "METHOD", description = "A kernel to emit (repeatable; default: all of the class).")
        List<String> kernels;

        @Override
        public void run() {
            Target t = switch (target.toLowerCase(Locale.ROOT)) {
                case "opencl" -> new OpenClTarget();
                case "cuda" -> new CudaTarget();
                case "glsl" -> new GlslTarget(Capabilities.ALL);
                default -> throw new Owl2jException("unknown --target '" + target + "': use opencl, cuda or glsl");
            };
            try {
                PrintWriter out = spec.commandLine().getOut();
                out.print(program(classPath, className, kernels).compiled(t).source());
                out.flush();
            } catch (DeviceException e) {
                throw userError(e);
            }
        }
    }

    @Command(name = "run", mixinStandardHelpOptions = true,
            description = "Run one kernel with arrays from a safetensors file; write them back after the run.")
    static final class Run implements Runnable {
        @Spec
        CommandSpec spec;

        @Option(names = "--class-path", paramLabel = "DIR", required = true, description = "Directory of the compiled kernel classes (compile with javac -g -parameters).")
        Path classPath;

        @Option(names = "--class", paramLabel = "NAME", required = true, description = "Binary name of the class.")
        String className;

        @Option(names = "--kernel", paramLabel = "METHOD", required = true, description = "The kernel method.")
        String kernel;

        @Option(names = "--backend", paramLabel = "java|opencl|cuda|vulkan|all", defaultValue = "java",
                description = "Where to run (default: ${DEFAULT-VALUE}); all: every available backend, each compared with the JVM.")
        String backend;

        @Option(names = "--device", paramLabel = "N", defaultValue = "0", description = "Device index for opencl/cuda/vulkan.")
        int device;

        @Option(names = "--global", paramLabel = "X[,Y[,Z]]", required = true, description = "Work-items in the launch per dimension.")
        String global;

        @Option(names = "--local", paramLabel = "X[,Y[,Z]]", required = true, description = "Work-items per group per dimension.")
        String local;

        @Option(names = "--inputs", paramLabel = "IN.safetensors", required = true,
                description = "Array arguments: tensors named like the parameters (F32, I32, F16/BF16/I16, U8/I8, F64, I64).")
        Path inputs;

        @Option(names = "--set", paramLabel = "NAME=VALUE", description = "A scalar argument (repeatable).")
        List<String> sets = new ArrayList<>();

        @Option(names = "--out", paramLabel = "OUT.safetensors", required = true, description = "Where every array argument is written after the run.")
        Path out;

        @Option(names = "--repeat", paramLabel = "N", defaultValue = "1", description = "Launch N times and print the median time per launch.")
        int repeat;

        @Option(names = "--bytes", paramLabel = "B", description = "Bytes a launch moves, to print GB/s with --repeat.")
        Long bytes;

        @Override
        public void run() {
            if (repeat < 1) throw new Owl2jException("--repeat must be at least 1");
            long[] g = sizes("--global", global), l = sizes("--local", local);
            if (g.length != l.length) throw new Owl2jException("--global and --local need the same number of dimensions");
            for (int d = 0; d < g.length; d++) {
                if (g[d] % l[d] != 0) throw new Owl2jException("--global " + global + " is not a multiple of --local " + local);
            }
            KernelProgram program;
            KernelSignature sig;
            try {
                program = program(classPath, className, List.of(kernel));
                sig = program.compiled(new OpenClTarget()).kernels().get(kernel);
            } catch (DeviceException e) {
                throw userError(e);
            }
            Map<String, Tensor> arrays = new LinkedHashMap<>();
            Object[] scalars = new Object[sig.params().size()];
            try (SafetensorsFile in = SafetensorsFile.open(inputs)) {
                Map<String, String> set = parseSets();
                for (int i = 0; i < sig.params().size(); i++) {
                    KernelSignature.Param p = sig.params().get(i);
                    if (p.kind() == KernelSignature.Kind.ARRAY) {
                        if (!in.contains(p.name())) {
                            throw new Owl2jException(inputs + " has no tensor named " + p.name() + " (parameter " + p.type() + " " + p.name()
                                    + "; compile the kernel class with javac -parameters so parameter names are kept)");
                        }
                        Tensor t = in.get(p.name());
                        checkType(p, t);
                        arrays.put(p.name(), copy(t));
                    } else {
                        String v = set.remove(p.name());
                        if (v == null) throw new Owl2jException("missing --set " + p.name() + "=VALUE (parameter " + p.type() + " " + p.name() + ")");
                        scalars[i] = scalar(p, v);
                    }
                }
                if (!set.isEmpty()) throw new Owl2jException("kernel " + kernel + " has no scalar parameter " + set.keySet().iterator().next() + " (" + sig.describe() + ")");
            }
            PrintWriter o = spec.commandLine().getOut();
            List<Api> apis = switch (backend.toLowerCase(Locale.ROOT)) {
                case "java" -> List.of(Api.JAVA);
                case "opencl" -> List.of(Api.OPENCL);
                case "cuda" -> List.of(Api.CUDA);
                case "vulkan" -> List.of(Api.VULKAN);
                case "all" -> List.of(Api.JAVA, Api.OPENCL, Api.CUDA, Api.VULKAN);
                default -> throw new Owl2jException("unknown --backend '" + backend + "': use java, opencl, cuda, vulkan or all");
            };
            Map<String, Tensor> reference = null;
            for (Api api : apis) {
                Device d;
                try {
                    d = Devices.get(api, api == Api.JAVA ? 0 : device);
                } catch (DeviceException e) {
                    if (apis.size() > 1) {
                        o.println(api.id() + ": skipped (" + e.getMessage() + ")");
                        continue;
                    }
                    throw new Owl2jException(e.getMessage());
                }
                Map<String, Tensor> result = runOn(d, program, sig, arrays, scalars, g, l, o);
                if (reference == null) {
                    reference = result;
                } else {
                    for (var e : result.entrySet()) {
                        o.printf(Locale.ROOT, "%s: %s max abs difference from java: %.3e%n", d.api().id(), e.getKey(),
                                maxAbsDiff(reference.get(e.getKey()), e.getValue()));
                    }
                }
            }
            if (reference != null) {
                SafetensorsWriter.write(out, new ArrayList<>(reference.values()), Map.of("kernel", className + "." + kernel));
                o.println("wrote " + reference.size() + " arrays to " + out);
            }
            o.flush();
        }

        private Map<String, Tensor> runOn(Device d, KernelProgram program, KernelSignature sig, Map<String, Tensor> arrays,
                                          Object[] scalars, long[] g, long[] l, PrintWriter o) {
            try (ComputeContext ctx = d.open()) {
                Program p = ctx.compile(program, "");
                Object[] args = new Object[scalars.length];
                List<Buffer> buffers = new ArrayList<>();
                for (int i = 0; i < args.length; i++) {
                    KernelSignature.Param prm = sig.params().get(i);
                    if (prm.kind() != KernelSignature.Kind.ARRAY) {
                        args[i] = scalars[i];
                        continue;
                    }
                    Tensor t = arrays.get(prm.name());
                    Buffer b = ctx.allocate(t.data().byteSize());
                    b.write(0, t.data().asByteBuffer());
                    buffers.add(b);
                    args[i] = b;
                }
                Launch launch = new Launch(p.kernel(kernel), g, l, args);
                ctx.launch(launch);
                ctx.finish();
                Map<String, Tensor> result = new LinkedHashMap<>();
                int bi = 0;
                for (int i = 0; i < args.length; i++) {
                    KernelSignature.Param prm = sig.params().get(i);
                    if (prm.kind() != KernelSignature.Kind.ARRAY) continue;
                    Tensor t = arrays.get(prm.name());
                    MemorySegment seg = Arena.ofAuto().allocate(Math.max(1, t.data().byteSize()), 8).asSlice(0, t.data().byteSize());
                    ByteBuffer bb = seg.asByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                    buffers.get(bi++).read(0, bb);
                    result.put(prm.name(), new Tensor(prm.name(), t.dtype(), t.shape(), seg));
                }
                if (repeat > 1) {
                    double ms = KernelBench.medianMillis(ctx, launch, repeat);
                    o.printf(Locale.ROOT, "%s: %s median %.4f ms per launch over %d launches%s%n", d.describe(), kernel, ms, repeat,
                            bytes == null ? "" : String.format(Locale.ROOT, ", %.2f GB/s", bytes / (ms * 1e6)));
                } else {
                    o.println(d.describe() + ": " + kernel + " ran");
                }
                for (Buffer b : buffers) b.close();
                return result;
            } catch (DeviceException e) {
                throw userError(e);
            }
        }

        private Map<String, String> parseSets() {
            Map<String, String> m = new LinkedHashMap<>();
            for (String s : sets) {
                int eq = s.indexOf('=');
                if (eq <= 0) throw new Owl2jException("--set takes NAME=VALUE, got '" + s + "'");
                m.put(s.substring(0, eq), s.substring(eq + 1));
            }
            return m;
        }

        private static Object scalar(KernelSignature.Param p, String v) {
            try {
                return switch (p.kind()) {
                    case INT -> Integer.parseInt(v);
                    case LONG -> Long.parseLong(v);
                    case FLOAT -> Float.parseFloat(v);
                    case DOUBLE -> Double.parseDouble(v);
                    case ARRAY -> throw new IllegalStateException();
                };
            } catch (NumberFormatException e) {
                throw new Owl2jException("--set " + p.name() + "=" + v + " is not a valid " + p.type());
            }
        }

        private static void checkType(KernelSignature.Param p, Tensor t) {
            List<DType> ok = switch (p.type()) {
                case "FloatArray" -> List.of(DType.F32);
                case "IntArray" -> List.of(DType.I32);
                case "ShortArray" -> List.of(DType.F16, DType.BF16, DType.I16);
                case "ByteArray" -> List.of(DType.U8, DType.I8, DType.Q8_0, DType.Q4_0);
                case "DoubleArray" -> List.of(DType.F64);
                default -> List.of(DType.I64);
            };
            if (!ok.contains(t.dtype())) {
                throw new Owl2jException("tensor " + t.name() + " is " + t.dtype() + " but parameter " + p.name() + " is a " + p.type() + " (needs " + ok + ")");
            }
        }

        /** The tensor's bytes in memory of our own (the input file is closed before the run). */
        private static Tensor copy(Tensor t) {
            MemorySegment seg = Arena.ofAuto().allocate(Math.max(1, t.data().byteSize()), 8).asSlice(0, t.data().byteSize());
            MemorySegment.copy(t.data(), 0, seg, 0, t.data().byteSize());
            return new Tensor(t.name(), t.dtype(), t.shape(), seg);
        }

        private static double maxAbsDiff(Tensor a, Tensor b) {
            double max = 0;
            long n = a.dtype().isQuantized() ? a.data().byteSize() : a.data().byteSize() / a.dtype().blockBytes;
            for (long i = 0; i < n; i++) {
                double x = value(a, i), y = value(b, i);
                double d = Math.abs(x - y);
                if (Double.isNaN(d)) d = Double.isNaN(x) && Double.isNaN(y) ? 0 : Double.POSITIVE_INFINITY;
                max = Math.max(max, d);
            }
            return max;
        }

        private static double value(Tensor t, long i) {
            MemorySegment s = t.data();
            return switch (t.dtype()) {
                case F32 -> s.getAtIndex(Tensor.F32_LE, i);
                case F64 -> s.getAtIndex(Tensor.F64_LE, i);
                case I32 -> s.getAtIndex(Tensor.I32_LE, i);
                case I64 -> s.getAtIndex(Tensor.I64_LE, i);
                case F16 -> Float.float16ToFloat(s.getAtIndex(Tensor.I16_LE, i));
                case BF16 -> Float.intBitsToFloat(s.getAtIndex(Tensor.I16_LE, i) << 16);
                case I16 -> s.getAtIndex(Tensor.I16_LE, i);
                case I8, Q8_0, Q4_0 -> s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i);
                default -> s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) & 0xff;
            };
        }

        private static long[] sizes(String option, String text) {
            String[] parts = text.split(",");
            if (parts.length < 1 || parts.length > 3) throw new Owl2jException(option + " takes 1 to 3 sizes, got '" + text + "'");
            long[] out = new long[parts.length];
            for (int i = 0; i < parts.length; i++) {
                try {
                    out[i] = Long.parseLong(parts[i].trim());
                } catch (NumberFormatException e) {
                    throw new Owl2jException(option + " '" + text + "' is not a list of sizes");
                }
                if (out[i] < 1 || out[i] > Integer.MAX_VALUE) throw new Owl2jException(option + " sizes must be between 1 and " + Integer.MAX_VALUE);
            }
            return out;
        }
    }

    @Command(name = "bench", mixinStandardHelpOptions = true,
            description = "Time every model kernel at the 7B shapes on each device: time, GB/s, GFLOP/s, share of the device's copy bandwidth.")
    static final class Bench implements Runnable {
        @Spec
        CommandSpec spec;

        @Option(names = "--backend", paramLabel = "java|opencl|cuda|vulkan|all", defaultValue = "all",
                description = "Devices to time (default: ${DEFAULT-VALUE}: every CUDA, OpenCL and Vulkan device, then the JVM).")
        String backend;

        @Option(names = "--repeat", paramLabel = "N", defaultValue = "5", description = "Timed launches per kernel; the median is shown (default: ${DEFAULT-VALUE}).")
        int repeat;

        @Option(names = "--kernel", paramLabel = "TEXT", description = "Only kernels whose name contains TEXT.")
        String filter;

        @Override
        public void run() {
            if (repeat < 1) throw new Owl2jException("--repeat must be at least 1");
            List<Api> apis = switch (backend.toLowerCase(Locale.ROOT)) {
                case "java" -> List.of(Api.JAVA);
                case "opencl" -> List.of(Api.OPENCL);
                case "cuda" -> List.of(Api.CUDA);
                case "vulkan" -> List.of(Api.VULKAN);
                case "all" -> List.of(Api.CUDA, Api.OPENCL, Api.VULKAN, Api.JAVA);
                default -> throw new Owl2jException("unknown --backend '" + backend + "': use java, opencl, cuda, vulkan or all");
            };
            PrintWriter o = spec.commandLine().getOut();
            for (Api api : apis) {
                for (Device d : Devices.of(api)) {
                    try (ComputeContext ctx = d.open()) {
                        Kernels k = Kernels.load(ctx);
                        double bw = KernelBench.copyBandwidth(ctx, k);
                        o.printf(Locale.ROOT, "%s, %s: copy bandwidth %.1f GB/s%n", d.describe(), d.driver(), bw);
                        o.println("| kernel | shape | ms | GB/s | GFLOP/s | share of bandwidth |");
                        o.println("|---|---|---|---|---|---|");
                        o.flush();
                        for (KernelBench.Case c : KernelBench.cases(KernelBench.Shapes.LLAMA_7B)) {
                            if (filter != null && !c.name().contains(filter)) continue;
                            KernelBench.Result r = KernelBench.run(ctx, k, c, repeat);
                            o.printf(Locale.ROOT, "| %s | %s | %.3f | %s | %s | %s |%n", r.name(), r.shape(), r.millis(),
                                    r.bytes() > 0 ? String.format(Locale.ROOT, "%.1f", r.gbPerSecond()) : "-",
                                    r.flops() > 0 ? String.format(Locale.ROOT, "%.1f", r.gflopPerSecond()) : "-",
                                    r.bytes() > 0 ? String.format(Locale.ROOT, "%.0f %%", 100 * r.gbPerSecond() / bw) : "-");
                            o.flush();
                        }
                    } catch (DeviceException e) {
                        throw userError(e);
                    }
                }
            }
        }
    }
}
