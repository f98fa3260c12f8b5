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
 */
public final class TorchZipCheckpoint implements TensorSource {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final int LOCAL_HEADER_SIG = 0x04034b50;

    private final Path path;
    private final Arena arena;
    private final Map<String, TensorRef> refs;
    private final Map<String, MemorySegment> storages;
    private final Map<String, Tensor> copies = new ConcurrentHashMap<>();

    private TorchZipCheckpoint(Path path, Arena arena, Map<String, TensorRef> refs, Map<String, MemorySegment> storages) {
        this.path = path;
        this.arena = arena;
        this.refs = refs;
        this.storages = storages;
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
                if (pkl.getSize() > (256L << 20)) {
                    throw new Owl2jException(where + ": data.pkl of " + pkl.getSize() + " bytes is implausibly large");
                }
                Map<String, TensorRef> refs = SafePickleReader.readStateDict(readAll(zip, pkl, where, 256 << 20), where);
                Map<String, MemorySegment> storages = new HashMap<>();
                for (Map.Entry<String, TensorRef> r : refs.entrySet()) {
                    StorageRef s = r.getValue().storage();
                    MemorySegment seg = storages.get(s.key());
                    if (seg == null) {
                        ZipArchiveEntry e = byName.get(prefix + "data/" + s.key());
                        if (e == null) {
                            throw new Owl2jException(where + ": tensor " + r.getKey() + " refers to storage " + s.key()
                                    + " that the archive lacks");
                        }
                        seg = storageBytes(zip, all, e, where, arena);
                        long need = Math.multiplyExact(s.numel(), (long) s.dtype().blockBytes);
                        if (seg.byteSize() < need) {
                            throw new Owl2jException(where + ": storage " + s.key() + " holds " + seg.byteSize()
                                    + " bytes but its " + s.numel() + " " + s.dtype() + " elements need " + need);
                        }
                        storages.put(s.key(), seg);
                    }
                    checkBounds(where, r.getKey(), r.getValue());
                }
                return new TorchZipCheckpoint(path, arena, refs, storages);
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

    /** The entry's bytes: a slice of the mapping when stored uncompressed, else inflated into the arena. */
    private static MemorySegment storageBytes(ZipFile zip, MemorySegment all, ZipArchiveEntry e, String where, Arena arena)
            throws IOException {
        long size = e.getSize();
        if (size < 0) {
            throw new Owl2jException(where + ": zip entry " + e.getName() + " has no recorded size");
        }
        if (e.getMethod() == ZipArchiveEntry.STORED) {
            long lh = e.getLocalHeaderOffset();
            if (lh < 0 || lh + 30 > all.byteSize() || all.get(U32, lh) != LOCAL_HEADER_SIG) {
                throw new Owl2jException(where + ": zip entry " + e.getName() + " has a bad local header offset");
            }
            long dataOffset = lh + 30 + (all.get(U16, lh + 26) & 0xffff) + (all.get(U16, lh + 28) & 0xffff);
            if (dataOffset + size > all.byteSize()) {
                throw new Owl2jException(where + ": zip entry " + e.getName() + " runs past the end of the file (truncated?)");
            }
            return all.asSlice(dataOffset, size);
        }
        MemorySegment out = arena.allocate(Math.max(1, size), 64).asSlice(0, size);
        try (InputStream is = zip.getInputStream(e)) {
            byte[] buf = new byte[1 << 16];
            long pos = 0;
            int n;
            while ((n = is.read(buf)) > 0) {
                if (pos + n > size) throw new Owl2jException(where + ": zip entry " + e.getName() + " inflates past its size");
                MemorySegment.copy(buf, 0, out, ValueLayout.JAVA_BYTE, pos, n);
                pos += n;
            }
            if (pos != size) throw new Owl2jException(where + ": zip entry " + e.getName() + " is truncated");
        }
        return out;
    }

    private static byte[] readAll(ZipFile zip, ZipArchiveEntry e, String where, int max) throws IOException {
        try (InputStream is = zip.getInputStream(e)) {
            byte[] b = is.readNBytes(max + 1);
            if (b.length > max) throw new Owl2jException(where + ": zip entry " + e.getName() + " is too large");
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
            throw new Owl2jException(where + ": tensor " + name + " (" + t + ") reaches element " + last
                    + " of a storage of " + t.storage().numel());
        }
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
        MemorySegment storage = storages.get(r.storage().key());
        long numel = Tensor.numel(r.shape());
        int eb = dtype.blockBytes;
        if (numel == 0) {
            return new Tensor(name, dtype, r.shape(), MemorySegment.NULL.reinterpret(0));
        }
        if (r.isContiguous()) {
            return new Tensor(name, dtype, r.shape(), storage.asSlice(r.offset() * eb, numel * eb));
        }
        return copies.computeIfAbsent(name, n -> new Tensor(n, dtype, r.shape(), gather(storage, r, numel, eb)));
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
