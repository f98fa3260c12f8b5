package dev.owl2j.model.cpu;

import dev.owl2j.model.Owl2jException;

import java.util.Arrays;

/**
 * Keys (after RoPE) and values of every decoder layer for positions [0, length()). A forward pass writes
 * its new rows at positions length() .. length()+n−1 in every layer and then {@link #commit}s them, so a
 * cache can be extended any number of times: a prefill, decode steps, then a further prefill chunk of the
 * next chat turn. Storage grows by doubling up to {@link #maxLength()}.
 */
public final class KVCache {
    private final int layers;
    private final int kvDim;
    private final int maxLength;
    private final float[][] keys;
    private final float[][] values;
    private int capacity;
    private int length;

    KVCache(int layers, int kvDim, int maxLength) {
        this.layers = layers;
        this.kvDim = kvDim;
        this.maxLength = maxLength;
        this.keys = new float[layers][0];
        this.values = new float[layers][0];
    }

    /** Positions held (the position the next token gets). */
    public int length() {
        return length;
    }

    /** The context limit: most positions this cache accepts. */
    public int maxLength() {
        return maxLength;
    }

    /** Forgets every position from newLength on (e.g. to regenerate a reply); the kept positions stay valid. */
    public void truncate(int newLength) {
        if (newLength < 0 || newLength > length) {
            throw new IllegalArgumentException("cannot truncate a cache of " + length + " positions to " + newLength);
        }
        length = newLength;
    }

    /** Makes room for n more positions or fails with a user error naming the context limit. */
    void reserve(int n) {
        long needed = (long) length + n;
        if (needed > maxLength) {
            throw new Owl2jException("context full: " + needed + " positions needed, the limit is " + maxLength);
        }
        if (needed <= capacity) {
            return;
        }
        int newCapacity = (int) Math.min(maxLength, Math.max(needed, Math.max(16, 2L * capacity)));
        for (int l = 0; l < layers; l++) {
            keys[l] = Arrays.copyOf(keys[l], newCapacity * kvDim);
            values[l] = Arrays.copyOf(values[l], newCapacity * kvDim);
        }
        capacity = newCapacity;
    }

    /** Layer l's keys, row-major [capacity, kvHeads·headDim]. */
    float[] keys(int layer) {
        return keys[layer];
    }

    float[] values(int layer) {
        return values[layer];
    }

    int kvDim() {
        return kvDim;
    }

    /** Marks n written positions as held. */
    void commit(int n) {
        length += n;
    }

    /** An independent cache holding the same positions (e.g. to score several continuations of one prompt). */
    KVCache copy() {
        KVCache c = new KVCache(layers, kvDim, maxLength);
        for (int l = 0; l < layers; l++) {
            c.keys[l] = Arrays.copyOf(keys[l], length * kvDim);
            c.values[l] = Arrays.copyOf(values[l], length * kvDim);
        }
        c.capacity = length;
        c.length = length;
        return c;
    }
}
