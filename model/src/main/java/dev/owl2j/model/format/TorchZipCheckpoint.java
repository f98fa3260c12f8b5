package dev.owl2j.model.format;

import dev.owl2j.model.Owl2jException;
import dev.owl2j.model.format.SafePickleReader.StorageRef;
import dev.owl2j.model.format.SafePickleReader.TensorRef;
import dev.owl2j.model.tensor.DType;
import dev.owl2j.model.tensor.Tensor;
import org.apache.commons.compress.archivers.zip.ZipArchiveEntry;
import org.apache.commons.compress.archivers.zip.ZipFile;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One {@code torch.save} file in the zip format (PyTorch 1.6 and later): {@code <prefix>/data.pkl} holds the
 * pickled state_dict, {@code <prefix>/data/<key>} the raw little-endian storages. The pickle is read by
 * {@link SafePickleReader} (nothing is executed). The file is memory-mapped once; a storage stored without
 * compression (torch always does so) is a zero-copy slice of the mapping, found through the entry's local
 * header. Contiguous tensors are views of their storage; strided ones are copied into a contiguous buffer on
 * first use. The legacy pre-1.6 (non-zip) format is refused.
 *
 * <p>Nothing a hostile archive says can make this class allocate much more than the file's own size, and nothing
 * is allocated for a tensor before it is asked for (docs/security.md): {@code data.pkl} is at most
 * {@link #MAX_PICKLE_BYTES}; a compressed entry's declared size is checked against its compressed size
 * ({@link #MAX_INFLATE_RATIO}) before a byte is inflated, and inflating stops at the declared size; a compressed
 * storage is inflated only when one of its tensors is first read; a strided tensor is copied only when it is
 * read, and only when no two of its elements share a storage element (a stride-0 or overlapping view could
 * be far larger than its storage, so it is refused).
 */
public final class TorchZipCheckpoint implements TensorSource {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int LOCAL_HEADER_SIG = 0x04034b50;
    /** Largest accepted {@code data.pkl}; torch.save writes about 150 bytes per tensor. */
    public static final long MAX_PICKLE_BYTES = 32L << 20;
    /** Largest accepted ratio of an entry's declared size to its compressed size (zip bombs reach 1000). */
    public static final long MAX_INFLATE_RATIO = 100;

    private final Path path;
    private final Arena arena;
    private final Map<String, TensorRef> refs;
    /** Storage key to its bytes: a slice of the mapping (stored entries) or null until inflated. */
    private final Map<String, MemorySegment> storages;
    /** Storage key to its compressed entry, for the storages inflated on first use. */
    private final Map<String, ZipArchiveEntry> compressed;
    private final Map<String, Tensor> copies = new ConcurrentHashMap<>();

    private TorchZipCheckpoint(Path path, Arena arena, Map<String, TensorRef> refs, Map<String, MemorySegment> storages,
                               Map<String, ZipArchiveEntry> compressed) {
        this.path = path;
        this.arena = arena;
        this.refs = refs;
        this.storages = storages;
        this.compressed = compressed;
    }

    public static TorchZipCheckpoint open(Path path) {
        String where = "checkpoint " + path.getFileName();
        if (!Files.isRegularFile(path)) {
            throw new Owl2jException(where + ": file not found: " + path);
        }
        Arena arena = Arena.ofShared();
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            long size = ch.size();
            MemorySegment all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size, arena);
            if (size < 4 || all.get(U32, 0) != LOCAL_HEADER_SIG) {
                if (size > 0 && (all.get(ValueLayout.JAVA_BYTE, 0) & 0xff) == 0x80) {
                    throw new Owl2jException(where + ": legacy (pre-1.6, non-zip) torch.save format is not supported;"
                            + " re-save it with torch.save in PyTorch 1.6 or later");
                }
                throw new Owl2jException(where + ": not a torch.save zip archive");
            }
            try (ZipFile zip = ZipFile.builder().setPath(path).get()) {
                ZipArchiveEntry pkl = null;
                Map<String, ZipArchiveEntry> byName = new HashMap<>();
                for (ZipArchiveEntry e : Collections.list(zip.getEntries())) {
                    byName.put(e.getName(), e);
                    if (e.getName().endsWith("data.pkl") && (pkl == null || e.getName().length() < pkl.getName().length())) {
                        pkl = e;
                    }
                }
                if (pkl == null) {
                    throw new Owl2jException(where + ": zip archive has no data.pkl (not a torch.save file)");
                }
                String prefix = pkl.getName().substring(0, pkl.getName().length() - "data.pkl".length());
                ZipArchiveEntry order = byName.get(prefix + "byteorder");
                if (order != null) {
                    String bo = new String(readAll(zip, order, where, 16), StandardCharsets.US_ASCII).trim();
                    if (!bo.equals("little")) {
                        throw new Owl2jException(where + ": storages are " + bo + "-endian; only little-endian is supported");
                    }
                }
                Map<String, TensorRef> refs = SafePickleReader.readStateDict(readPickle(zip, pkl, where), where);
                Map<String, MemorySegment> storages = new ConcurrentHashMap<>();
                Map<String, ZipArchiveEntry> compressed = new HashMap<>();
                Map<String, StorageRef> seen = new HashMap<>();
                for (Map.Entry<String, TensorRef> r : refs.entrySet()) {
                    StorageRef s = r.getValue().storage();
                    StorageRef first = seen.putIfAbsent(s.key(), s);
                    // torch.save describes a storage the same way wherever it is used; a second description with
                    // another type or size would let a view read past the bytes checked below for the first
                    if (first != null && (first.dtype() != s.dtype() || first.numel() != s.numel())) {
                        throw new Owl2jException(where + ": storage " + SafePickleReader.printable(s.key()) + " is declared as "
                                + first.numel() + " " + first.dtype() + " elements and, by tensor "
                                + SafePickleReader.printable(r.getKey()) + ", as " + s.numel() + " " + s.dtype());
                    }
                    if (first == null) {
                        ZipArchiveEntry e = byName.get(prefix + "data/" + s.key());
                        if (e == null) {
                            throw new Owl2jException(where + ": tensor " + SafePickleReader.printable(r.getKey())
                                    + " refers to storage " + SafePickleReader.printable(s.key()) + " that the archive lacks");
                        }
                        long declared = checkedSize(e, where);
                        long need;
                        try {
                            need = Math.multiplyExact(s.numel(), (long) s.dtype().blockBytes);
                        } catch (ArithmeticException overflow) {
                            throw new Owl2jException(where + ": storage " + SafePickleReader.printable(s.key()) + " declares "
                                    + s.numel() + " elements, more than any file can hold");
                        }
                        if (declared < need) {
                            throw new Owl2jException(where + ": storage " + SafePickleReader.printable(s.key()) + " holds " + declared
                                    + " bytes but its " + s.numel() + " " + s.dtype() + " elements need " + need);
                        }
                        if (e.getMethod() == ZipArchiveEntry.STORED) storages.put(s.key(), storedBytes(all, e, where));
                        else compressed.put(s.key(), e);
                    }
                    checkBounds(where, r.getKey(), r.getValue());
                }
                return new TorchZipCheckpoint(path, arena, refs, storages, compressed);
            }
        } catch (IOException e) {
            arena.close();
            throw new Owl2jException(where + ": cannot read torch.save archive: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            arena.close();
            if (e instanceof Owl2jException) throw e;
            throw new Owl2jException(where + ": corrupt torch.save archive: " + e.getMessage(), e);
        }
    }

    /**
     * The entry's declared (uncompressed) size, after checking that it is recorded, that the entry is stored or
     * deflated, and that a deflated entry does not claim to expand more than {@link #MAX_INFLATE_RATIO} times.
     */
    private static long checkedSize(ZipArchiveEntry e, String where) {
        String name = where + ": zip entry " + SafePickleReader.printable(e.getName());
        long size = e.getSize();
        if (size < 0) throw new Owl2jException(name + " has no recorded size");
        if (e.getMethod() == ZipArchiveEntry.STORED) return size;
        if (e.getMethod() != ZipArchiveEntry.DEFLATED) {
            throw new Owl2jException(name + " uses zip compression method " + e.getMethod() + " (only stored and deflated are read)");
        }
        long packed = e.getCompressedSize();
        if (packed < 0 || size > Math.max(packed, 1) * MAX_INFLATE_RATIO) {
            throw new Owl2jException(name + " claims " + size + " bytes from " + packed + " compressed, over the "
                    + MAX_INFLATE_RATIO + ":1 limit (a zip bomb?)");
        }
        return size;
    }

    /** A stored entry's bytes: a zero-copy slice of the mapping, found through its local header. */
    private static MemorySegment storedBytes(MemorySegment all, ZipArchiveEntry e, String where) {
        long size = e.getSize();
        long lh = e.getLocalHeaderOffset();
        String name = where + ": zip entry " + SafePickleReader.printable(e.getName());
        if (lh < 0 || lh > all.byteSize() - 30 || all.get(U32, lh) != LOCAL_HEADER_SIG) {
            throw new Owl2jException(name + " has a bad local header offset");
        }
        long dataOffset = lh + 30 + (all.get(U16, lh + 26) & 0xffff) + (all.get(U16, lh + 28) & 0xffff);
        if (dataOffset > all.byteSize() || size > all.byteSize() - dataOffset) {
            throw new Owl2jException(name + " runs past the end of the file (truncated?)");
        }
        return all.asSlice(dataOffset, size);
    }

    /** Inflates a deflated entry of already checked size into {@code out}, refusing more or fewer bytes. */
    private static void inflate(ZipFile zip, ZipArchiveEntry e, String where, MemorySegment out) throws IOException {
        long size = out.byteSize();
        String name = where + ": zip entry " + SafePickleReader.printable(e.getName());
        try (InputStream is = zip.getInputStream(e)) {
            byte[] buf = new byte[1 << 16];
            long pos = 0;
            int n;
            while ((n = is.read(buf)) > 0) {
                if (n > size - pos) throw new Owl2jException(name + " inflates past its declared size of " + size + " bytes");
                MemorySegment.copy(buf, 0, out, ValueLayout.JAVA_BYTE, pos, n);
                pos += n;
            }
            if (pos != size) throw new Owl2jException(name + " is truncated (" + pos + " of " + size + " bytes)");
        }
    }

    /** {@code data.pkl}'s bytes, at most {@link #MAX_PICKLE_BYTES}, checked before anything is read. */
    private static byte[] readPickle(ZipFile zip, ZipArchiveEntry pkl, String where) throws IOException {
        long size = checkedSize(pkl, where);
        if (size > MAX_PICKLE_BYTES) {
            throw new Owl2jException(where + ": data.pkl of " + size + " bytes is over the limit of " + MAX_PICKLE_BYTES
                    + " (torch.save writes about 150 bytes per tensor)");
        }
        byte[] b = new byte[(int) size];
        inflate(zip, pkl, where, MemorySegment.ofArray(b));
        return b;
    }

    private static byte[] readAll(ZipFile zip, ZipArchiveEntry e, String where, int max) throws IOException {
        checkedSize(e, where);
        try (InputStream is = zip.getInputStream(e)) {
            byte[] b = is.readNBytes(max + 1);
            if (b.length > max) throw new Owl2jException(where + ": zip entry " + SafePickleReader.printable(e.getName()) + " is too large");
            return b;
        }
    }

    private static void checkBounds(String where, String name, TensorRef t) {
        long numel;
        long last = t.offset();
        try {
            numel = Tensor.numel(t.shape());
            for (int i = 0; i < t.shape().length; i++) {
                if (t.shape()[i] > 0) last = Math.addExact(last, Math.multiplyExact(t.shape()[i] - 1, t.stride()[i]));
            }
        } catch (ArithmeticException e) {
            throw new Owl2jException(where + ": tensor " + name + " shape overflows");
        }
        if (numel > 0 && (t.offset() < 0 || last >= t.storage().numel())) {
            throw new Owl2jException(where + ": tensor " + SafePickleReader.printable(name) + " (" + t + ") reaches element " + last
                    + " of a storage of " + t.storage().numel());
        }
        if (numel > 1 && !t.isContiguous() && !nonOverlapping(t.shape(), t.stride())) {
            throw new Owl2jException(where + ": tensor " + SafePickleReader.printable(name) + " (" + t + ") is an overlapping view"
                    + " (stride 0 or strides that revisit elements); save it with .contiguous()");
        }
    }

    /**
     * Whether distinct indices reach distinct storage elements: with the dimensions of size > 1 sorted by stride,
     * each stride must exceed the furthest reach of all smaller ones. (Sufficient, and what every permutation or
     * slice of a dense tensor satisfies; a copy of such a view is never larger than its storage.)
     */
    static boolean nonOverlapping(long[] shape, long[] stride) {
        Integer[] dims = new Integer[shape.length];
        int n = 0;
        for (int i = 0; i < shape.length; i++) if (shape[i] > 1) dims[n++] = i;
        Integer[] used = java.util.Arrays.copyOf(dims, n);
        java.util.Arrays.sort(used, java.util.Comparator.comparingLong(i -> stride[i]));
        long reach = 0; // furthest element offset reachable with the dimensions so far
        for (int i : used) {
            if (stride[i] <= reach) return false;
            reach += (shape[i] - 1) * stride[i]; // no overflow: checkBounds bounded it by the storage size
        }
        return true;
    }

    public Path path() {
        return path;
    }

    /** How the pickle describes each tensor (storage, offset, strides): for inspection and tests. */
    public Map<String, TensorRef> tensorRefs() {
        return Collections.unmodifiableMap(refs);
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(refs.keySet());
    }

    @Override
    public boolean contains(String name) {
        return refs.containsKey(name);
    }

    @Override
    public Tensor get(String name) {
        TensorRef r = refs.get(name);
        if (r == null) {
            throw new Owl2jException(path + ": no tensor named " + name);
        }
        DType dtype = r.storage().dtype();
        long numel = Tensor.numel(r.shape());
        int eb = dtype.blockBytes;
        if (numel == 0) {
            return new Tensor(name, dtype, r.shape(), MemorySegment.NULL.reinterpret(0));
        }
        MemorySegment storage = storage(r.storage().key());
        if (r.isContiguous()) {
            return new Tensor(name, dtype, r.shape(), storage.asSlice(r.offset() * eb, numel * eb));
        }
        return copies.computeIfAbsent(name, n -> new Tensor(n, dtype, r.shape(), gather(storage, r, numel, eb)));
    }

    @Override
    public Info info(String name) {
        TensorRef r = refs.get(name);
        if (r == null) {
            throw new Owl2jException(path + ": no tensor named " + name);
        }
        return new Info(r.storage().dtype(), r.shape().clone());
    }

    /** A storage's bytes; a compressed one is inflated on first use (its size and ratio were checked at open). */
    private MemorySegment storage(String key) {
        MemorySegment s = storages.get(key);
        if (s != null) return s;
        synchronized (this) {
            s = storages.get(key);
            if (s != null) return s;
            String where = "checkpoint " + path.getFileName();
            try (ZipFile zip = ZipFile.builder().setPath(path).get()) {
                ZipArchiveEntry e = zip.getEntry(compressed.get(key).getName());
                if (e == null) throw new Owl2jException(where + ": storage " + SafePickleReader.printable(key) + " vanished from the archive");
                MemorySegment out = arena.allocate(Math.max(1, compressed.get(key).getSize()), 64)
                        .asSlice(0, compressed.get(key).getSize());
                inflate(zip, e, where, out);
                storages.put(key, out);
                return out;
            } catch (IOException e) {
                throw new Owl2jException(where + ": cannot inflate storage " + SafePickleReader.printable(key) + ": " + e.getMessage(), e);
            }
        }
    }

    /** Copies a strided tensor into a new contiguous row-major buffer (element by element, odometer order). */
    private MemorySegment gather(MemorySegment storage, TensorRef r, long numel, int eb) {
        MemorySegment out = arena.allocate(numel * eb, 64);
        long[] shape = r.shape(), stride = r.stride();
        int rank = shape.length;
        long[] idx = new long[rank];
        long src = r.offset();
        for (long i = 0; i < numel; i++) {
            MemorySegment.copy(storage, src * eb, out, i * eb, eb);
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                src += stride[d];
                if (idx[d] < shape[d]) break;
                src -= stride[d] * shape[d];
                idx[d] = 0;
            }
        }
        return out;
    }

    @Override
    public String formatName() {
        return "pytorch .bin";
    }

    @Override
    public void close() {
        copies.clear();
        arena.close();
    }
}
