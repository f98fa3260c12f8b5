package dev.owl2j.kernels.jvm;

import dev.owl2j.kernels.compiler.Capabilities;
import dev.owl2j.kernels.compiler.ir.Module;
import dev.owl2j.kernels.compiler.target.Target;

/**
 * The JVM backend's target: it runs the kernels' own bytecode, so it emits nothing, but compiling for it
 * applies the same checks (a kernel the JVM runs also compiles for the devices) and tells which kernels have
 * barriers.
 */
final class JvmTarget implements Target {
    @Override
    public String id() {
        return "java";
    }

    @Override
    public Capabilities capabilities() {
        return Capabilities.ALL;
    }

    @Override
    public Emitted emit(Module module) {
        return new Emitted(null, null);
    }
}
