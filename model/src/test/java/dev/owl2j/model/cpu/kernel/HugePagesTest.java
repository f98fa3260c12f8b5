package dev.owl2j.model.cpu.kernel;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

class HugePagesTest {
    private static final long MIB = 1L << 20;

    @Test
    void memoryIsZeroedWritableAlignedAndFreedWithItsArena() {
        for (long bytes : new long[]{1, 4095, 2 * MIB - 1, 2 * MIB, 5 * MIB + 123}) {
            MemorySegment s;
            try (Arena arena = Arena.ofShared()) {
                s = HugePages.allocate(bytes, arena);
                assertEquals(bytes, s.byteSize());
                assertEquals(0, s.address() % 64, "64-byte aligned");
                for (long i = 0; i < bytes; i++) {
                    assertEquals(0, s.get(ValueLayout.JAVA_BYTE, i), "zero at " + i + " of " + bytes);
                }
                for (long i = 0; i < bytes; i++) {
                    s.set(ValueLayout.JAVA_BYTE, i, (byte) (i * 31 + 7));
                }
                for (long i = 0; i < bytes; i++) {
                    assertEquals((byte) (i * 31 + 7), s.get(ValueLayout.JAVA_BYTE, i), "byte " + i + " of " + bytes);
                }
            }
            assertFalse(s.scope().isAlive(), "freed when its arena closes");
        }
    }

    /**
     * Where the kernel has transparent huge pages and this process asks for them, the mapping of a large allocation
     * starts on a 2 MiB boundary and carries the MADV_HUGEPAGE mark (smaps' VmFlags "hg"), whatever the system's
     * policy (with "never" the kernel keeps the mark but lends no huge page).
     */
    @Test
    void largeAllocationsAreMarkedForHugePages() throws IOException {
        assumeTrue(HugePages.used(), "huge pages are not asked for on this platform");
        assumeTrue(Files.isDirectory(Path.of("/sys/kernel/mm/transparent_hugepage")), "kernel without transparent huge pages");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = HugePages.allocate(6 * MIB, arena);
            assertEquals(0, s.address() % HugePages.HUGE, "starts on a huge page boundary");
            assertTrue(vmFlags(s.address()).contains(" hg"), "marked MADV_HUGEPAGE: " + vmFlags(s.address()));
        }
    }

    /** The VmFlags line of the mapping that holds address, from /proc/self/smaps. */
    private static String vmFlags(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        boolean inside = false;
        for (String line : lines) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).matches("[0-9a-f]+")) {
                long from = Long.parseUnsignedLong(line.substring(0, dash), 16);
                long to = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
                inside = Long.compareUnsigned(address, from) >= 0 && Long.compareUnsigned(address, to) < 0;
            } else if (inside && line.startsWith("VmFlags:")) {
                return line + " ";
            }
        }
        return "(no mapping holds the address)";
    }
}
