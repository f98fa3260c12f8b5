package dev.owl2j.kernels;

import dev.owl2j.kernels.compiler.ir.Function;
import dev.owl2j.kernels.compiler.ir.Type;
import dev.owl2j.kernels.compiler.ir.Variable;

import java.util.ArrayList;
import java.util.List;

/**
 * The parameters of a kernel compiled from Java, as a {@link Launch} passes them: the Java parameters in order
 * without the KernelContext, arrays as buffers and scalars as boxed numbers. The device kernel takes one hidden
 * int more per array whose getSize() the kernel reads ({@link #deviceArgs} appends them from the buffers' sizes).
 *
 * @param name       the Java method name (what {@link Program#kernel} takes)
 * @param deviceName the name in the emitted source (usually the same)
 */
public record KernelSignature(String name, String deviceName, List<Param> params, List<Integer> sizeOf) {
    public enum Kind { ARRAY, INT, LONG, FLOAT, DOUBLE }

    /** elementBytes: of the array's elements (0 for scalars); type: the Java type as written. */
    public record Param(String name, Kind kind, int elementBytes, String type) {}

    public static KernelSignature of(Function f) {
        List<Param> ps = new ArrayList<>();
        for (Variable v : f.params()) {
            if (v.type() instanceof Type.ArrayType at) {
                String t = switch (at.elem()) {
                    case FLOAT -> "FloatArray";
                    case INT -> "IntArray";
                    case SHORT -> "ShortArray";
                    case BYTE -> "ByteArray";
                    case DOUBLE -> "DoubleArray";
                    case LONG -> "LongArray";
                    default -> at.toString();
                };
                ps.add(new Param(v.name(), Kind.ARRAY, at.elem().bytes(), t));
            } else {
                Type.Prim p = (Type.Prim) v.type();
                Kind k = switch (p) {
                    case LONG -> Kind.LONG;
                    case FLOAT -> Kind.FLOAT;
                    case DOUBLE -> Kind.DOUBLE;
                    default -> Kind.INT;
                };
                ps.add(new Param(v.name(), k, 0, p.name().toLowerCase()));
            }
        }
        List<Integer> sizes = new ArrayList<>();
        for (Variable s : f.sizeParams()) sizes.add(f.params().indexOf(s.sizeOf()));
        return new KernelSignature(f.javaMethod(), f.name(), List.copyOf(ps), List.copyOf(sizes));
    }

    /** Throws DeviceException naming the first argument that does not fit its parameter. */
    public void check(Object[] args) {
        if (args.length != params.size()) {
            throw new DeviceException("kernel " + name + " takes " + params.size() + " arguments (" + describe() + "), got " + args.length);
        }
        for (int i = 0; i < args.length; i++) {
            Param p = params.get(i);
            Object a = args[i];
            boolean ok = switch (p.kind()) {
                case ARRAY -> Launch.bufferOf(a) != null;
                case INT -> a instanceof Integer;
                case LONG -> a instanceof Long;
                case FLOAT -> a instanceof Float;
                case DOUBLE -> a instanceof Double;
            };
            if (!ok) {
                throw new DeviceException("kernel " + name + ": argument " + i + " (" + p.type() + " " + p.name() + ") needs "
                        + (p.kind() == Kind.ARRAY ? "a Buffer" : "a " + p.kind().name().toLowerCase()) + ", got "
                        + (a == null ? "null" : a.getClass().getSimpleName()));
            }
        }
    }

    /** The arguments the device kernel takes: args, then the element count of each array whose size it reads. */
    public Object[] deviceArgs(Object[] args) {
        if (sizeOf.isEmpty()) return args;
        Object[] out = java.util.Arrays.copyOf(args, args.length + sizeOf.size());
        for (int k = 0; k < sizeOf.size(); k++) {
            int i = sizeOf.get(k);
            long n = Launch.bufferOf(args[i]).bytes() / params.get(i).elementBytes();
            out[args.length + k] = (int) Math.min(Integer.MAX_VALUE, n);
        }
        return out;
    }

    /** "FloatArray y, int yOff, ...". */
    public String describe() {
        List<String> s = new ArrayList<>();
        for (Param p : params) s.add(p.type() + " " + p.name());
        return String.join(", ", s);
    }
}
