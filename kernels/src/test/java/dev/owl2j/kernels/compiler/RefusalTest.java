package dev.owl2j.kernels.compiler;

import dev.owl2j.kernels.compiler.KernelCompiler.KernelMethod;
import dev.owl2j.kernels.compiler.target.OpenClTarget;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.lang.classfile.ClassFile;
import java.lang.classfile.CodeElement;
import java.lang.classfile.Instruction;
import java.lang.classfile.MethodModel;
import java.lang.classfile.instruction.LineNumber;
import java.lang.constant.ClassDesc;
import java.lang.constant.MethodTypeDesc;
import java.lang.reflect.AccessFlag;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every construct the language refuses gives ONE line naming the class, the method, the Java source line and the
 * construct. The expected line and words come from the "refused:" comments in Refusals.java.
 */
class RefusalTest {
    record Case(String kernel, int line, String words) {
        @Override
        public String toString() {
            return kernel;
        }
    }

    /** The kernel each "refused:" line belongs to is the last public static void method declared above it. */
    static Stream<Case> cases() throws IOException {
        List<String> lines = Files.readAllLines(Path.of("src/test/java/dev/owl2j/kernels/compiler/Refusals.java"));
        Pattern kernel = Pattern.compile("public static (synchronized )?void (\\w+)\\(");
        List<Case> out = new ArrayList<>();
        String current = null;
        for (int i = 0; i < lines.size(); i++) {
            Matcher m = kernel.matcher(lines.get(i));
            if (m.find()) current = m.group(2);
            int at = lines.get(i).indexOf("// refused: ");
            if (at >= 0) out.add(new Case(current, i + 1, lines.get(i).substring(at + "// refused: ".length()).trim()));
        }
        return out.stream();
    }

    static Capabilities capsFor(String kernel) {
        return switch (kernel) {
            case "usesLong" -> new Capabilities(false, true);
            case "usesDouble" -> new Capabilities(true, false);
            default -> new OpenClTarget().capabilities();
        };
    }

    @ParameterizedTest
    @MethodSource("cases")
    void refusedWithOneLineNamingClassMethodLineAndConstruct(Case c) throws IOException {
        KernelCompileException e = assertThrows(KernelCompileException.class, () -> KernelCompiler.compile("refusals",
                Refusals.class.getClassLoader(), List.of(new KernelMethod(Refusals.class.getName(), c.kernel())), capsFor(c.kernel())));
        String msg = e.getMessage();
        assertFalse(msg.contains("\n"), msg);
        // the method named is the kernel or the helper that holds the construct
        Matcher where = Pattern.compile("^dev\\.owl2j\\.kernels\\.compiler\\.Refusals\\.(\\w+)"
                + " \\(Refusals\\.java:(\\d+), bytecode (\\d+)\\): ").matcher(msg);
        assertTrue(where.find(), msg);
        assertEquals(c.line(), Integer.parseInt(where.group(2)), msg);
        assertTrue(msg.contains(c.words()), "expected '" + c.words() + "' in: " + msg);
        // the bytecode offset is an instruction of that line (the class's own line number table says so)
        assertEquals(c.line(), lineOf(where.group(1), Integer.parseInt(where.group(3))), msg);
    }

    /** The source line the class file's line number table gives for the instruction at a bytecode offset. */
    static int lineOf(String method, int bytecode) throws IOException {
        byte[] bytes;
        try (var in = Refusals.class.getResourceAsStream("Refusals.class")) {
            bytes = in.readAllBytes();
        }
        MethodModel m = ClassFile.of().parse(bytes).methods().stream().filter(x -> x.methodName().equalsString(method))
                .findFirst().orElseThrow();
        int line = 0, offset = 0;
        for (CodeElement e : m.code().orElseThrow()) {
            if (e instanceof LineNumber ln) line = ln.line();
            else if (e instanceof Instruction i) {
                if (offset == bytecode) return line;
                offset += i.sizeInBytes();
            }
        }
        return -1;
    }

    /** Without a source file and line numbers (javac -g:none) the bytecode offset alone places the construct. */
    @Test
    void withoutLineNumbersTheBytecodeOffsetNamesThePlace() {
        ClassDesc cd = ClassDesc.of("gen.NoLines");
        ClassDesc intArray = ClassDesc.of("dev.owl2j.kernels.lang.IntArray");
        ClassDesc ctx = ClassDesc.of("dev.owl2j.kernels.lang.KernelContext");
        byte[] bytes = ClassFile.of().build(cd, cb -> cb.withMethodBody("k",
                MethodTypeDesc.of(ClassDesc.ofDescriptor("V"), ctx, intArray, ClassDesc.ofDescriptor("I")),
                ClassFile.ACC_PUBLIC | ClassFile.ACC_STATIC, code -> code
                        .iload(2).pop()                                       // offsets 0, 1
                        .new_(ClassDesc.of("java.lang.Object")).dup()         // offset 2: refused here
                        .invokespecial(ClassDesc.of("java.lang.Object"), "<init>", MethodTypeDesc.of(ClassDesc.ofDescriptor("V")))
                        .pop().return_()));
        ClassLoader loader = new ClassLoader(getClass().getClassLoader()) {
            @Override
            public java.io.InputStream getResourceAsStream(String name) {
                if (name.equals("gen/NoLines.class")) return new java.io.ByteArrayInputStream(bytes);
                return super.getResourceAsStream(name);
            }
        };
        KernelCompileException e = assertThrows(KernelCompileException.class, () -> KernelCompiler.compile("nolines", loader,
                List.of(new KernelMethod("gen.NoLines", "k")), Capabilities.ALL));
        assertEquals("gen.NoLines.k (bytecode 2): object allocation (new java.lang.Object)", e.getMessage());
    }

    @Test
    void atLeastTenDifferentConstructsAreCovered() throws IOException {
        assertTrue(cases().map(Case::words).distinct().count() >= 10);
    }

    @Test
    void theOtherKernelsOfTheClassCompile() {
        // the refusals are about the constructs, not about the class: a well-formed kernel next to them compiles
        var m = KernelCompiler.compile("ok", LanguageKernels.class.getClassLoader(),
                List.of(new KernelMethod(LanguageKernels.class.getName(), "loops")), Capabilities.ALL);
        assertEquals(1, m.kernels().size());
    }

    /** javac never writes irreducible control flow, so this method is assembled directly. */
    @Test
    void irreducibleControlFlowIsRefused() throws Exception {
        ClassDesc cd = ClassDesc.of("gen.Irreducible");
        ClassDesc intArray = ClassDesc.of("dev.owl2j.kernels.lang.IntArray");
        ClassDesc ctx = ClassDesc.of("dev.owl2j.kernels.lang.KernelContext");
        byte[] bytes = ClassFile.of().build(cd, cb -> cb.with(java.lang.classfile.attribute.SourceFileAttribute.of("Irreducible.java"))
                .withMethodBody("k", MethodTypeDesc.of(ClassDesc.ofDescriptor("V"), ctx, intArray, ClassDesc.ofDescriptor("I")),
                        ClassFile.ACC_PUBLIC | ClassFile.ACC_STATIC, code -> {
                            var a = code.newLabel();
                            var b = code.newLabel();
                            var end = code.newLabel();
                            code.lineNumber(7);
                            code.iload(2).ifeq(b); // enter the cycle at a or at b
                            code.labelBinding(a);
                            code.lineNumber(8);
                            code.iinc(2, -1).iload(2).iflt(end);
                            code.labelBinding(b);
                            code.lineNumber(9);
                            code.iinc(2, -2).iload(2).ifgt(a);
                            code.labelBinding(end);
                            code.return_();
                        }));
        ClassLoader loader = new ClassLoader(getClass().getClassLoader()) {
            @Override
            public java.io.InputStream getResourceAsStream(String name) {
                if (name.equals("gen/Irreducible.class")) return new java.io.ByteArrayInputStream(bytes);
                return super.getResourceAsStream(name);
            }
        };
        KernelCompileException e = assertThrows(KernelCompileException.class, () -> KernelCompiler.compile("irr", loader,
                List.of(new KernelMethod("gen.Irreducible", "k")), Capabilities.ALL));
        assertTrue(e.getMessage().startsWith("gen.Irreducible.k (Irreducible.java:"), e.getMessage());
        assertTrue(e.getMessage().contains("irreducible control flow"), e.getMessage());
        assertFalse(AccessFlag.STATIC.toString().isEmpty());
    }
}
