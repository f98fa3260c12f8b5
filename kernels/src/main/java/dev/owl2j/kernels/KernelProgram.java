package dev.owl2j.kernels;

import dev.owl2j.kernels.compiler.KernelCompiler;
import dev.owl2j.kernels.compiler.KernelCompiler.KernelMethod;
import dev.owl2j.kernels.compiler.ir.Function;
import dev.owl2j.kernels.compiler.ir.Module;
import dev.owl2j.kernels.compiler.target.Target;
import dev.owl2j.kernels.lang.KernelContext;

import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Kernels written in Java (dev.owl2j.kernels.lang) that are compiled together into one device program:
 * {@link ComputeContext#compile(KernelProgram, String)} compiles them from their bytecode for the context's
 * target (OpenCL C, CUDA C++) through the kernel cache, or runs them as Java on the JVM backend. The compiled
 * form per target is kept, so a program compiles once per target however many contexts use it.
 */
public final class KernelProgram {
    private final String name;
    private final ClassLoader loader;
    private final List<KernelMethod> kernels;
    private final Map<String, Compiled> byTarget = new HashMap<>();

    /** A target's compilation: the IR, the emitted source and each kernel's signature by Java method name. */
    public record Compiled(Module module, Target.Emitted emitted, Map<String, KernelSignature> kernels) {
        public String source() {
            return emitted.text();
        }
    }

    private KernelProgram(String name, ClassLoader loader, List<KernelMethod> kernels) {
        if (kernels.isEmpty()) throw new DeviceException("kernel program " + name + " has no kernels");
        this.name = name;
        this.loader = loader;
        this.kernels = List.copyOf(kernels);
    }

    /**
     * The kernels of these classes: their public static void methods that take a KernelContext. All classes
     * must come from the same class loader.
     */
    public static KernelProgram of(String name, Class<?>... classes) {
        List<KernelMethod> ks = new ArrayList<>();
        for (Class<?> c : classes) {
            Method[] ms = c.getDeclaredMethods();
            Arrays.sort(ms, (a, b) -> a.getName().compareTo(b.getName()));
            for (Method m : ms) {
                if (isKernel(m)) ks.add(new KernelMethod(c.getName(), m.getName()));
            }
        }
        return new KernelProgram(name, classes[0].getClassLoader(), ks);
    }

    /** Named kernels of a class (static void methods). */
    public static KernelProgram methods(String name, Class<?> cls, String... methods) {
        List<KernelMethod> ks = new ArrayList<>();
        for (String m : methods) ks.add(new KernelMethod(cls.getName(), m));
        return new KernelProgram(name, cls.getClassLoader(), ks);
    }

    public static KernelProgram of(String name, ClassLoader loader, List<KernelMethod> kernels) {
        return new KernelProgram(name, loader, kernels);
    }

    static boolean isKernel(Method m) {
        int mod = m.getModifiers();
        return Modifier.isPublic(mod) && Modifier.isStatic(mod) && m.getReturnType() == void.class
                && Arrays.asList(m.getParameterTypes()).contains(KernelContext.class);
    }

    public String name() {
        return name;
    }

    public ClassLoader loader() {
        return loader;
    }

    public List<KernelMethod> kernels() {
        return kernels;
    }

    /** Compiles (once per target) and emits; throws KernelCompileException naming a refused construct. */
    public synchronized Compiled compiled(Target target) {
        Compiled c = byTarget.get(target.id());
        if (c == null) {
            Module m = KernelCompiler.compile(name, loader, kernels, target.capabilities());
            Target.Emitted emitted = target.emit(m);
            Map<String, KernelSignature> sigs = new LinkedHashMap<>();
            for (Function f : m.kernels()) sigs.put(f.javaMethod(), KernelSignature.of(f));
            c = new Compiled(m, emitted, sigs);
            byTarget.put(target.id(), c);
        }
        return c;
    }

    /** The loaded kernel method named javaName (for backends that run the Java itself). */
    public Method method(String javaName) {
        for (KernelMethod k : kernels) {
            if (k.methodName().equals(javaName)) {
                try {
                    Class<?> c = Class.forName(k.className(), false, loader);
                    for (Method m : c.getDeclaredMethods()) if (m.getName().equals(javaName)) return m;
                } catch (ClassNotFoundException e) {
                    throw new DeviceException("kernel class " + k.className() + " cannot be loaded: " + e.getMessage());
                }
            }
        }
        throw new DeviceException("kernel program '" + name + "' has no kernel " + javaName);
    }

    @Override
    public String toString() {
        return name + " " + kernels;
    }
}
