package dev.owl2j.kernels;

import org.lwjgl.system.MemoryUtil;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Device memory. Transfers are blocking and take element offsets; the typed helpers stage through a
 * temporary direct buffer. Bulk uploads of mapped checkpoint data use {@link #write(long, ByteBuffer)} directly.
 */
public interface Buffer extends AutoCloseable {
    long bytes();

    /** Copies src's remaining bytes to byteOffset (blocking). */
    void write(long byteOffset, ByteBuffer src);

    /** Fills dst's remaining bytes from byteOffset (blocking). */
    void read(long byteOffset, ByteBuffer dst);

    @Override
    void close();

    default void write(float[] src, long elementOffset) {
        ByteBuffer b = MemoryUtil.memAlloc(src.length * 4).order(ByteOrder.nativeOrder());
        try {
            b.asFloatBuffer().put(src);
            write(elementOffset * 4, b);
        } finally {
            MemoryUtil.memFree(b);
        }
    }

    default void write(int[] src, long elementOffset) {
        ByteBuffer b = MemoryUtil.memAlloc(src.length * 4).order(ByteOrder.nativeOrder());
        try {
            b.asIntBuffer().put(src);
            write(elementOffset * 4, b);
        } finally {
            MemoryUtil.memFree(b);
        }
    }

    default void write(short[] src, long elementOffset) {
        ByteBuffer b = MemoryUtil.memAlloc(src.length * 2).order(ByteOrder.nativeOrder());
        try {
            b.asShortBuffer().put(src);
            write(elementOffset * 2, b);
        } finally {
            MemoryUtil.memFree(b);
        }
    }

    default void write(byte[] src, long byteOffset) {
        ByteBuffer b = MemoryUtil.memAlloc(Math.max(1, src.length));
        try {
            b.put(src).flip();
            write(byteOffset, b);
        } finally {
            MemoryUtil.memFree(b);
        }
    }

    default float[] readFloats(long elementOffset, int count) {
        ByteBuffer b = MemoryUtil.memAlloc(count * 4).order(ByteOrder.nativeOrder());
        try {
            read(elementOffset * 4, b);
            float[] out = new float[count];
            b.asFloatBuffer().get(out);
            return out;
        } finally {
            MemoryUtil.memFree(b);
        }
    }

    default int[] readInts(long elementOffset, int count) {
        ByteBuffer b = MemoryUtil.memAlloc(count * 4).order(ByteOrder.nativeOrder());
        try {
            read(elementOffset * 4, b);
            int[] out = new int[count];
            b.asIntBuffer().get(out);
            return out;
        } finally {
            MemoryUtil.memFree(b);
        }
    }

    default short[] readShorts(long elementOffset, int count) {
        ByteBuffer b = MemoryUtil.memAlloc(count * 2).order(ByteOrder.nativeOrder());
        try {
            read(elementOffset * 2, b);
            short[] out = new short[count];
            b.asShortBuffer().get(out);
            return out;
        } finally {
            MemoryUtil.memFree(b);
        }
    }

    default byte[] readBytes(long byteOffset, int count) {
        ByteBuffer b = MemoryUtil.memAlloc(Math.max(1, count));
        try {
            b.limit(count);
            read(byteOffset, b);
            byte[] out = new byte[count];
            b.get(out);
            return out;
        } finally {
            MemoryUtil.memFree(b);
        }
    }
}
