package dev.owl2j.model;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** Settings: defaults, every knob read from its property, the cache root's precedence, one-line errors. */
class SettingsTest {
    private static final Map<String, String> HOME = Map.of("user.home", "/home/u");

    @Test
    void defaults() {
        Settings s = Settings.read(HOME, Map.of());
        assertEquals(Runtime.getRuntime().availableProcessors(), s.threads());
        assertTrue(s.kvCacheBytes() > 0);
        assertEquals(256, s.prefillChunk());
        assertEquals(256, s.streamingAttention());
        assertEquals(4096, s.panelCols());
        assertEquals(24, s.matmulBlocked());
        assertEquals(512, s.blockK());
        assertTrue(s.touch());
        assertTrue(s.alignX());
        assertTrue(s.q4Tiles());
        assertTrue(s.q8Tiles());
        assertTrue(s.int16Prefill());
        assertTrue(s.hugePages());
        assertTrue(s.kvReserve());
        assertEquals(256, s.smallMatrixCols());
        assertTrue(s.tensorCores());
        assertEquals(Path.of("/home/u/.cache/owl2j"), s.home());
        assertEquals(512, s.prefillBudget());
    }

    @Test
    void everyPropertyIsRead() {
        Settings s = Settings.read(Map.ofEntries(Map.entry("user.home", "/home/u"), Map.entry("owl2j.threads", "3"),
                Map.entry("owl2j.kvCacheGiB", "0.5"), Map.entry("owl2j.prefillChunk", "64"),
                Map.entry("owl2j.streamingAttention", "0"), Map.entry("owl2j.panelCols", "0"),
                Map.entry("owl2j.matmulBlocked", "8"), Map.entry("owl2j.blockK", "256"), Map.entry("owl2j.noTouch", "true"),
                Map.entry("owl2j.noAlignX", "true"), Map.entry("owl2j.noQ4Tiles", "true"),
                Map.entry("owl2j.noQ8Tiles", "true"), Map.entry("owl2j.int16Prefill", "false"), Map.entry("owl2j.hugePages", "false"),
                Map.entry("owl2j.kvReserve", "false"),
                Map.entry("owl2j.smallMatrixCols", "0"),
                Map.entry("owl2j.tensorCores", "false"),
                Map.entry("owl2j.prefillBudget", "100")), Map.of());
        assertEquals(new Settings(3, 1L << 29, 64, 0, 0, 8, 256, false, false, false, false, false, false, false, 0, false, Path.of("/home/u/.cache/owl2j"), 100), s);
        assertEquals(5, s.withThreads(5).threads());
    }

    @Test
    void cacheRootPropertyThenEnvironmentThenUserHome() {
        assertEquals(Path.of("/env"), Settings.read(HOME, Map.of("OWL2J_HOME", "/env")).home());
        assertEquals(Path.of("/prop"), Settings.read(Map.of("user.home", "/home/u", "owl2j.cacheHome", "/prop"),
                Map.of("OWL2J_HOME", "/env")).home());
        assertEquals(Path.of("/home/u/.cache/owl2j"), Settings.read(HOME, Map.of("OWL2J_HOME", " ")).home());
    }

    @Test
    void badValuesAreOneLineErrorsNamingTheSetting() {
        assertEquals("owl2j.threads must be an integer, got 'many'",
                assertThrows(Owl2jException.class, () -> Settings.read(Map.of("owl2j.threads", "many"), Map.of())).getMessage());
        assertEquals("owl2j.threads must be at least 1, got 0",
                assertThrows(Owl2jException.class, () -> Settings.read(Map.of("owl2j.threads", "0"), Map.of())).getMessage());
        assertEquals("owl2j.kvCacheGiB must be above 0, got -1",
                assertThrows(Owl2jException.class, () -> Settings.read(Map.of("owl2j.kvCacheGiB", "-1"), Map.of())).getMessage());
        assertEquals("owl2j.tensorCores must be true or false, got 'maybe'",
                assertThrows(Owl2jException.class, () -> Settings.read(Map.of("owl2j.tensorCores", "maybe"), Map.of())).getMessage());
        assertThrows(Owl2jException.class, () -> Settings.read(HOME, Map.of()).withThreads(0));
    }
}
