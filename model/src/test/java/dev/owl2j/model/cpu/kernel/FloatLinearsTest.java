package dev.owl2j.model.cpu.kernel;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.assertEquals;

class FloatLinearsTest {
    /**
     * Every one of the 65,536 F16 bit patterns, in vector-sized groups: the widened lane is bit for bit the JDK's
     * scalar Float.float16ToFloat (signed zeros and subnormals included), except for inf and NaN, which the trick
     * does not keep (weights never hold them).
     */
    @Test
    void f16WidensEveryFiniteHalfExactly() {
        int lanes = FloatLinears.I.length();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment halves = arena.allocate(2L * 65536, 64);
            for (int h = 0; h < 65536; h++) {
                halves.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(FloatLinears.LE), 2L * h, (short) h);
            }
            float[] out = new float[lanes];
            for (int h0 = 0; h0 < 65536; h0 += lanes) {
                FloatLinears.f16(halves, 2L * h0).intoArray(out, 0);
                for (int l = 0; l < lanes; l++) {
                    int h = h0 + l;
                    if ((h & 0x7c00) == 0x7c00) {
                        continue; // inf and NaN
                    }
                    float want = Float.float16ToFloat((short) h);
                    assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(out[l]),
                            String.format("F16 0x%04x: %s against %s", h, out[l], want));
                }
            }
        }
    }
}
