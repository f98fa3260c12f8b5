package dev.owl2j.kernels;

import dev.owl2j.kernels.compiler.KernelCompiler.KernelMethod;
import dev.owl2j.kernels.lang.KernelFunctions;

import java.io.Serializable;
import java.lang.invoke.MethodHandleInfo;
import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Method;

/**
 * A kernel written in Java named for a task graph: a method reference ({@code KernelRef.of(MyKernels::scale)}) or
 * a class and method name. A method reference is resolved through its SerializedLambda, so it must refer directly
 * to a static method (not wrap it in a lambda).
 */
public record KernelRef(ClassLoader loader, KernelMethod method) {
    public static KernelRef of(Class<?> cls, String method) {
        return new KernelRef(cls.getClassLoader(), new KernelMethod(cls.getName(), method));
    }

    public String name() {
        return method.methodName();
    }

    private static KernelRef resolve(Serializable fn) {
        try {
            Method wr = fn.getClass().getDeclaredMethod("writeReplace");
            wr.setAccessible(true);
            SerializedLambda sl = (SerializedLambda) wr.invoke(fn);
            if (sl.getImplMethodKind() != MethodHandleInfo.REF_invokeStatic || sl.getImplMethodName().startsWith("lambda$")) {
                throw new DeviceException("a task's kernel must be a reference to a static method (Class::method), not a lambda");
            }
            return new KernelRef(fn.getClass().getClassLoader(), new KernelMethod(sl.getImplClass().replace('/', '.'), sl.getImplMethodName()));
        } catch (ReflectiveOperationException | RuntimeException e) {
            if (e instanceof DeviceException d) throw d;
            throw new DeviceException("cannot tell which method this kernel reference names: " + e);
        }
    }

    public static <T1> KernelRef of(KernelFunctions.Task1<T1> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2> KernelRef of(KernelFunctions.Task2<T1, T2> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3> KernelRef of(KernelFunctions.Task3<T1, T2, T3> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3, T4> KernelRef of(KernelFunctions.Task4<T1, T2, T3, T4> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3, T4, T5> KernelRef of(KernelFunctions.Task5<T1, T2, T3, T4, T5> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3, T4, T5, T6> KernelRef of(KernelFunctions.Task6<T1, T2, T3, T4, T5, T6> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3, T4, T5, T6, T7> KernelRef of(KernelFunctions.Task7<T1, T2, T3, T4, T5, T6, T7> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3, T4, T5, T6, T7, T8> KernelRef of(KernelFunctions.Task8<T1, T2, T3, T4, T5, T6, T7, T8> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3, T4, T5, T6, T7, T8, T9> KernelRef of(KernelFunctions.Task9<T1, T2, T3, T4, T5, T6, T7, T8, T9> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> KernelRef of(KernelFunctions.Task10<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> KernelRef of(KernelFunctions.Task11<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12> KernelRef of(KernelFunctions.Task12<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13> KernelRef of(KernelFunctions.Task13<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14> KernelRef of(KernelFunctions.Task14<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14> kernel) {
        return resolve(kernel);
    }

    public static <T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15> KernelRef of(KernelFunctions.Task15<T1, T2, T3, T4, T5, T6, T7, T8, T9, T10, T11, T12, T13, T14, T15> kernel) {
        return resolve(kernel);
    }
}
