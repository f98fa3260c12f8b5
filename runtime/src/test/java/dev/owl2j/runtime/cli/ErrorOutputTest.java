package dev.owl2j.runtime.cli;

import dev.owl2j.kernels.DeviceException;
import dev.owl2j.model.Owl2jException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Every message a user sees is one printable line and names no internal exception class. */
class ErrorOutputTest {
    @Test
    void controlCharactersAreEscaped() {
        assertEquals("owl2j: a\\nb", ErrorOutput.line("a\nb"));
        assertEquals("a\\0b", ErrorOutput.escape("a\0b"));
        assertEquals("\\x1b[31mred", ErrorOutput.escape("\u001b[31mred"));
        assertEquals("tab\\there\\r", ErrorOutput.escape("tab\there\r"));
        assertEquals("del\\x7f c1\\x9b", ErrorOutput.escape("del\u007f c1\u009b"));
        assertEquals("bidi \\u202etxt.exe", ErrorOutput.escape("bidi \u202etxt.exe"));
        assertEquals("zero\\u200bwidth line\\u2028sep", ErrorOutput.escape("zero\u200bwidth line\u2028sep"));
        assertEquals("lone \\ud800 surrogate", ErrorOutput.escape("lone \ud800 surrogate"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"plain text", "ünïcödé 漢字 😀", "path/with spaces/and\\backslash", ""})
    void printableTextIsUnchanged(String s) {
        assertEquals(s, ErrorOutput.escape(s));
    }

    @Test
    void everyCharacterBelowSpaceIsEscaped() {
        for (char c = 0; c < 0x20; c++) {
            String e = ErrorOutput.escape("x" + c + "y");
            assertTrue(e.startsWith("x\\") && e.endsWith("y") && e.chars().allMatch(ch -> ch >= 0x20 && ch < 0x7f), e);
        }
    }

    @Test
    void userErrorsKeepTheirMessage() {
        assertEquals("bad thing", ErrorOutput.describe(new Owl2jException("bad thing"), "owl2j run"));
        assertEquals("bad thing", ErrorOutput.describe(new RuntimeException("wrapper", new Owl2jException("bad thing")), "owl2j run"));
    }

    @Test
    void fileSystemErrorsNameTheFileAndTheReasonOnly() {
        assertEquals("no such file or directory: /x/y", ErrorOutput.describe(new NoSuchFileException("/x/y"), "owl2j run"));
        assertEquals("permission denied: /x/y", ErrorOutput.describe(new UncheckedIOException(new AccessDeniedException("/x/y")), "owl2j run"));
        assertEquals("/x/y: No space left on device",
                ErrorOutput.describe(new FileSystemException("/x/y", null, "No space left on device"), "owl2j run"));
        String io = ErrorOutput.describe(new IOException("Broken pipe"), "owl2j run");
        assertEquals("input/output error: Broken pipe", io);
    }

    @Test
    void bugsAndDeviceFailuresNameNoExceptionClass() {
        Throwable[] bugs = {new NullPointerException("Cannot invoke \"String.length()\""), new IllegalArgumentException("invalid URI scheme file"),
                new IllegalStateException(), new ArrayIndexOutOfBoundsException(3), new StackOverflowError()};
        for (Throwable t : bugs) {
            String m = ErrorOutput.describe(t, "owl2j pull");
            assertTrue(m.startsWith("internal error in owl2j pull"), m);
            assertFalse(m.contains("Exception") || m.contains("Error:") || m.contains("java."), m);
        }
        String d = ErrorOutput.describe(new DeviceException("clBuildProgram failed\nline 1: error\nline 2"), "owl2j run");
        assertEquals("device error: clBuildProgram failed (the full log: run with --debug)", d);
    }
}
