package dev.owl2j.runtime.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DevicesCommandTest {
    @Test
    void listsBothApisAndTheAutoBackendEvenWithoutCuda() {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = Owl2jCommand.execute("devices");
        } finally {
            System.setOut(old);
        }
        String out = buf.toString(StandardCharsets.UTF_8);
        System.out.print(out);
        assertEquals(0, rc);
        assertTrue(out.contains("cuda") && out.contains("opencl") && out.contains("vulkan"), out);
        assertTrue(out.matches("(?s).*auto backend: (cuda|opencl|cpu).*"), out);
    }
}
