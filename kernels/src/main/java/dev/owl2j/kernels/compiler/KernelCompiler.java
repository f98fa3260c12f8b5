package dev.owl2j.kernels.compiler;

import dev.owl2j.kernels.compiler.ir.Function;
import dev.owl2j.kernels.compiler.ir.Module;
import dev.owl2j.kernels.compiler.ir.Type;
import dev.owl2j.kernels.compiler.ir.Variable;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.classfile.Attributes;
import java.lang.classfile.ClassFile;
import java.lang.classfile.ClassModel;
import java.lang.classfile.MethodModel;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Compiles Java kernel methods (read from their class files with the JDK's ClassFile API) into an IR
 * {@link Module}: the kernels plus every static method they call, each called method translated once per
 * combination of array memory spaces it is called with. Written by hand rather than with a bytecode library
 * because the compiler is the product: it must refuse precisely and explain itself.
 */
public final class KernelCompiler {
    /** One kernel: the binary class name and the method name (kernel names are not overloaded). */
    public record KernelMethod(String className, String methodName) {}

    private final ClassLoader loader;
    private final Capabilities caps;
    private final Map<String, ClassModel> classes = new HashMap<>();
    private final Map<String, Function> instances = new HashMap<>();
    private final ArrayDeque<String> translating = new ArrayDeque<>();
    private final List<Function> ordered = new ArrayList<>();

    public KernelCompiler(ClassLoader loader, Capabilities caps) {
        this.loader = loader;
        this.caps = caps;
    }

    /** Compiles the kernels and what they call; throws {@link KernelCompileException} naming the first refusal. */
    public static Module compile(String name, ClassLoader loader, List<KernelMethod> kernels, Capabilities caps) {
        KernelCompiler c = new KernelCompiler(loader, caps);
        for (KernelMethod k : kernels) c.kernel(k);
        return new Module(name, List.copyOf(c.ordered));
    }

    private void kernel(KernelMethod k) {
        String internal = k.className().replace('.', '/');
        ClassModel cm = classModel(internal, null);
        MethodModel found = null;
        for (MethodModel m : cm.methods()) {
            if (m.methodName().stringValue().equals(k.methodName())) {
                if (found != null) {
                    throw new KernelCompileException(k.className() + "." + k.methodName()
                            + ": several methods have this name; kernel names must not be overloaded");
                }
                found = m;
            }
        }
        if (found == null) throw new KernelCompileException(k.className() + " has no method " + k.methodName());
        for (Function f : ordered) {
            if (f.isKernel() && f.javaMethod().equals(k.methodName())) {
                throw new KernelCompileException(k.className() + "." + k.methodName()
                        + ": a program cannot hold two kernels of the same name (" + f.javaClass() + "." + f.javaMethod() + ")");
            }
        }
        String key = internal + "." + k.methodName() + found.methodType().stringValue();
        translating.push(key);
        try {
            Function f = new MethodTranslator(this, cm, found, sourceFile(cm), true, null, caps).translate();
            ordered.add(f);
        } finally {
            translating.pop();
        }
    }

    /** The device function for a static call, translated on first use. */
    Function function(String owner, String name, String desc, List<Type> argTypes, MethodTranslator caller) {
        String key = owner + "." + name + desc;
        if (translating.contains(key)) throw caller.refuse("recursive call of " + owner.replace('/', '.') + "." + name);
        String instance = key + argTypes;
        Function f = instances.get(instance);
        if (f != null) return f;
        ClassModel cm = classModel(owner, caller);
        MethodModel mm = null;
        for (MethodModel m : cm.methods()) {
            if (m.methodName().stringValue().equals(name) && m.methodType().stringValue().equals(desc)) mm = m;
        }
        if (mm == null) throw caller.refuse("call of " + owner.replace('/', '.') + "." + name + desc + ", which its class does not declare (inherited static methods are not supported)");
        translating.push(key);
        try {
            f = new MethodTranslator(this, cm, mm, sourceFile(cm), false, argTypes, caps).translate();
        } finally {
            translating.pop();
        }
        instances.put(instance, f);
        ordered.add(f);
        return f;
    }

    Variable sizeParam(Function f, Variable param) {
        for (Variable v : f.sizeParams()) if (v.sizeOf() == param) return v;
        Variable v = Variable.sizeOf(param);
        f.sizeParams().add(v);
        return v;
    }

    private ClassModel classModel(String internal, MethodTranslator caller) {
        ClassModel cm = classes.get(internal);
        if (cm != null) return cm;
        try (InputStream in = loader.getResourceAsStream(internal + ".class")) {
            if (in == null) {
                String msg = "class " + internal.replace('/', '.') + " not found on the kernel class path";
                if (caller != null) throw caller.refuse(msg);
                throw new KernelCompileException(msg);
            }
            cm = ClassFile.of().parse(in.readAllBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        classes.put(internal, cm);
        return cm;
    }

    private static String sourceFile(ClassModel cm) {
        return cm.findAttribute(Attributes.sourceFile()).map(s -> s.sourceFile().stringValue()).orElse(null);
    }
}
