package dev.owl2j.model.cpu;

import dev.owl2j.model.Settings;
import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.cpu.kernel.HugePages;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.ref.Cleaner;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keys (after RoPE) and values of every decoder layer for positions [0, length()). A forward pass writes
 * its new rows at positions length() .. length()+n−1 in every layer and then {@link #commit}s them, so a
 * cache can be extended any number of times: a prefill, decode steps, then a further prefill chunk of the
 * next chat turn. Storage grows by doubling up to {@link #maxLength()}.
 *
 * <p>The storage lives off the Java heap, in one segment laid out [layer][keys, values][stride][kvDim]. On the
 * heap, 16 server sessions of a 7B model held 2.1 GB of cache arrays that the collector copied whenever it
 * promoted them (a 2.2 s young pause in a 16-client load round). The heap limit used to bound the caches' total;
 * now {@link Budget} does: a cache that would take the process past it fails to grow with an
 * {@link OutOfMemoryError} (the server answers 503 and drops those requests) instead of the operating system
 * killing the process. The budget counts a cache's capacity, which grows by doubling up to {@link #maxLength()}.
 *
 * <p><b>Reserved storage.</b> Where {@link HugePages#reserve} lends address space (Linux), a cache's segment is
 * reserved for the model's whole context at once (stride = the context length, 2 GiB of address space for the 7B
 * at 2048 positions) and memory is taken only where rows are written: growing moves nothing. When such a cache is
 * closed its reservation, with the memory its rows touched, is kept for the next cache of the same shape (one
 * reservation per shape is kept; a second closed one replaces it). Why: memory a process touches for the first
 * time is expensive on virtual machines that hand freed memory back to their host. On the 2-vCPU VM the rows of a
 * 127-position prefill took 216-303 ms to write into new memory (2 MiB pages, 4.5-6 % of the prefill) against
 * about 7 ms into memory touched before; a server's sessions after its first, a chat's next turns and a scorer's
 * candidates now find touched memory, as llama.cpp's context does (it clears its whole cache when created). The
 * kept rows are never read by the next cache: a cache reads only the positions it wrote itself. Elsewhere the
 * segment holds the capacity (stride = capacity), is allocated by {@link HugePages#allocate} and copied on growth,
 * and {@link #close} frees it at once. A cache that is never closed is freed (or kept) once it becomes unreachable.
 */
public final class KVCache implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final int layers;
    private final int kvDim;
    private final int maxLength;
    /** Positions per plane of a reserved segment: maxLength or more (the model's context). */
    private final int reservePositions;
    private final Storage storage;
    private final Cleaner.Cleanable cleanable;
    private int capacity;
    private int length;

    /** Bytes all open caches of a process may hold together. */
    static final class Budget {
        private final long limit;
        private final AtomicLong held = new AtomicLong();

        Budget(long limit) {
            this.limit = limit;
        }

        void take(long bytes) {
            if (held.addAndGet(bytes) > limit) {
                long had = held.addAndGet(-bytes);
                throw new OutOfMemoryError("KV caches need " + size(bytes) + " more, " + size(had) + " held, limit "
                        + size(limit) + " (owl2j.kvCacheGiB)");
            }
        }

        void give(long bytes) {
            held.addAndGet(-bytes);
        }

        long held() {
            return held.get();
        }
    }

    private static final double GIB = 1024.0 * 1024 * 1024;

    private static String size(long bytes) {
        return bytes >= GIB / 10 ? String.format(Locale.ROOT, "%.2f GiB", bytes / GIB)
                : String.format(Locale.ROOT, "%.3f MiB", bytes / (1024.0 * 1024));
    }

    /**
     * The process-wide budget ({@link Settings#kvCacheBytes}: {@code owl2j.kvCacheGiB}, by default half the physical
     * memory; the rest is for the weights, which are mapped or off-heap too, the heap and the system).
     */
    static final Budget PROCESS_BUDGET = new Budget(Settings.fromSystem().kvCacheBytes());

    /** Whether caches reserve their storage where the system lends address space ({@code owl2j.kvReserve}). */
    static final boolean RESERVE = Settings.fromSystem().kvReserve();

    /** The limit of the process-wide budget, in bytes (for error messages). */
    public static long memoryLimit() {
        return PROCESS_BUDGET.limit;
    }

    /** The current segment and the arena that owns it; the cleaning action, so it must not refer to the cache. */
    private static final class Storage implements Runnable {
        final Budget budget;
        Arena arena;
        MemorySegment data = MemorySegment.NULL;
        /** Bytes counted against the budget: the capacity's, whatever the segment's size. */
        long held;
        /** Whether data is a {@link Reservation} (kept for the next cache when this one closes). */
        boolean reserved;
        boolean closed;

        Storage(Budget budget) {
            this.budget = budget;
        }

        @Override
        public synchronized void run() {
            if (arena != null) {
                budget.give(held);
                if (reserved) {
                    Reservation.keep(new Reservation(arena, data));
                } else {
                    arena.close();
                }
            }
            arena = null;
            data = MemorySegment.NULL;
            held = 0;
            closed = true;
        }
    }

    /** Address space for every position of one cache shape, and the arena that unmaps it (see the class comment). */
    private record Reservation(Arena arena, MemorySegment data) {
        /** The kept reservations, at most one per size (a process runs one model: in practice one in all). */
        private static final ConcurrentHashMap<Long, Reservation> IDLE = new ConcurrentHashMap<>();

        /** The kept reservation of this size, else a new one; null where no address space is lent. */
        static Reservation take(long bytes) {
            Reservation idle = IDLE.remove(bytes);
            if (idle != null) {
                return idle;
            }
            Arena arena = Arena.ofShared(); // shared: the attention of one layer reads the cache from every pool thread
            MemorySegment data = HugePages.reserve(bytes, arena);
            if (data == null) {
                arena.close();
                return null;
            }
            return new Reservation(arena, data);
        }

        /** Keeps r for the next cache of its size, freeing the one kept before. */
        static void keep(Reservation r) {
            Reservation old = IDLE.put(r.data.byteSize(), r);
            if (old != null) {
                old.arena.close();
            }
        }
    }

    KVCache(int layers, int kvDim, int maxLength, Budget budget) {
        this(layers, kvDim, maxLength, maxLength, budget);
    }

    /**
     * A cache whose reserved storage (where lent) spans contextLength positions per plane, at least maxLength;
     * contextLength 0 never reserves (the storage is allocated and copied on growth, as where nothing is lent).
     */
    KVCache(int layers, int kvDim, int maxLength, int contextLength, Budget budget) {
        this.layers = layers;
        this.kvDim = kvDim;
        this.maxLength = maxLength;
        this.reservePositions = contextLength == 0 || !RESERVE ? 0 : Math.max(maxLength, contextLength);
        this.storage = new Storage(budget);
        this.cleanable = CLEANER.register(this, storage);
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
        checkOpen();
        long needed = (long) length + n;
        if (needed > maxLength) {
            throw new Owl2jException("context full: " + needed + " positions needed, the limit is " + maxLength);
        }
        if (needed <= capacity) {
            return;
        }
        if (capacity == 0) {
            // The first reservation (a prompt) leaves room for a reply of REPLY_ROOM positions, so that the first
            // decode steps do not stop to move the prompt's rows into a cache twice the size: on the 2-vCPU VM
            // that move took 324 ms of a 16-step decode's 2204 (docs/performance-log.md, Huge pages for the weight
            // tiles). Where the budget cannot lend that much, what is needed.
            int roomy = (int) Math.min(maxLength, Math.max(16, needed + REPLY_ROOM));
            try {
                resize(roomy, length);
                return;
            } catch (OutOfMemoryError e) {
                if (roomy <= Math.max(16, needed)) {
                    throw e;
                }
            }
        }
        int newCapacity = (int) Math.min(maxLength, Math.max(needed, Math.max(16, 2L * capacity)));
        resize(newCapacity, length);
    }

    /** Positions a first reservation adds for the reply that usually follows a prompt. */
    static final int REPLY_ROOM = 256;

    /**
     * Grows the capacity to newCapacity positions keeping the first {@code keep}: within a reservation only the budget
     * grows; otherwise the rows move into new storage of newCapacity positions.
     */
    private void resize(int newCapacity, int keep) {
        long bytes = (long) layers * 2 * newCapacity * kvDim * Float.BYTES;
        if (storage.reserved) {
            storage.budget.take(bytes - storage.held);
            synchronized (storage) {
                storage.held = bytes;
            }
            capacity = newCapacity;
            return;
        }
        storage.budget.take(bytes);
        if (storage.arena == null && reservePositions > 0) {
            Reservation r;
            try {
                r = Reservation.take((long) layers * 2 * reservePositions * kvDim * Float.BYTES);
            } catch (RuntimeException | Error e) {
                storage.budget.give(bytes);
                throw e;
            }
            if (r != null) {
                synchronized (storage) {
                    storage.arena = r.arena();
                    storage.data = r.data();
                    storage.held = bytes;
                    storage.reserved = true;
                }
                capacity = newCapacity;
                return;
            }
        }
        Arena arena = Arena.ofShared(); // shared: the attention of one layer reads the cache from every pool thread
        MemorySegment data;
        try {
            data = HugePages.allocate(bytes, arena);
        } catch (OutOfMemoryError e) {
            arena.close();
            storage.budget.give(bytes);
            throw e;
        }
        synchronized (storage) {
            for (int l = 0; l < layers; l++) {
                for (int part = 0; part < 2; part++) {
                    MemorySegment.copy(storage.data, plane(l, part, stride()), data, plane(l, part, newCapacity),
                            (long) keep * kvDim * Float.BYTES);
                }
            }
            if (storage.arena != null) {
                storage.budget.give(storage.held);
                storage.arena.close();
            }
            storage.arena = arena;
            storage.data = data;
            storage.held = bytes;
        }
        capacity = newCapacity;
    }

    /** Whether the storage is a reservation (see the class comment); false before the first reservation. */
    boolean reserved() {
        return storage.reserved;
    }

    /** Positions per plane of the current segment: the reservation's when reserved, else the capacity. */
    private int stride() {
        return storage.reserved ? reservePositions : capacity;
    }

    /** Byte offset of layer l's keys (part 0) or values (part 1) in storage of the given stride. */
    private long plane(int layer, int part, int stride) {
        return ((long) layer * 2 + part) * stride * kvDim * Float.BYTES;
    }

    /** Layer l's keys, row-major [capacity, kvHeads·headDim] floats. */
    MemorySegment keys(int layer) {
        return storage.data.asSlice(plane(layer, 0, stride()), (long) capacity * kvDim * Float.BYTES);
    }

    /** Layer l's values, row-major [capacity, kvHeads·headDim] floats. */
    MemorySegment values(int layer) {
        return storage.data.asSlice(plane(layer, 1, stride()), (long) capacity * kvDim * Float.BYTES);
    }

    /** Stores n rows of kvDim floats from src (starting at row srcRow) as positions pos .. pos+n−1 of a layer. */
    void write(int layer, float[] keys, float[] values, int srcRow, int pos, int n) {
        long at = (long) pos * kvDim * Float.BYTES;
        MemorySegment.copy(keys, srcRow * kvDim, storage.data, ValueLayout.JAVA_FLOAT, plane(layer, 0, stride()) + at, n * kvDim);
        MemorySegment.copy(values, srcRow * kvDim, storage.data, ValueLayout.JAVA_FLOAT, plane(layer, 1, stride()) + at, n * kvDim);
    }

    /** Marks n written positions as held. */
    void commit(int n) {
        length += n;
    }

    /** An independent cache holding the same positions (e.g. to score several continuations of one prompt). */
    KVCache copy() {
        checkOpen();
        KVCache c = new KVCache(layers, kvDim, maxLength, reservePositions, storage.budget);
        if (length > 0) {
            c.resize(length, 0);
            for (int l = 0; l < layers; l++) {
                for (int part = 0; part < 2; part++) {
                    MemorySegment.copy(storage.data, plane(l, part, stride()), c.storage.data, c.plane(l, part, c.stride()),
                            (long) length * kvDim * Float.BYTES);
                }
            }
        }
        c.length = length;
        return c;
    }

    /** Frees the storage; the cache cannot be used afterwards. Closing twice is harmless. */
    @Override
    public void close() {
        cleanable.clean();
    }

    private void checkOpen() {
        if (storage.closed) {
            throw new IllegalStateException("this KV cache (session) is closed");
        }
    }
}
