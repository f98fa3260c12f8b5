package dev.owl2j.model.format;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Builds pickles opcode by opcode and torch.save-like zip archives around them, for hostile-input tests. */
public final class Pickles {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    public static Pickles proto2() {
        Pickles p = new Pickles();
        p.raw(0x80, 2);
        return p;
    }

    public Pickles raw(int... bytes) {
        for (int b : bytes) out.write(b);
        return this;
    }

    public Pickles op(char c) {
        out.write(c);
        return this;
    }

    /** The same opcode n times (deep or wide structures). */
    public Pickles repeat(char c, int n) {
        byte[] b = new byte[n];
        java.util.Arrays.fill(b, (byte) c);
        out.writeBytes(b);
        return this;
    }

    /** BINUNICODE. */
    public Pickles str(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        op('X');
        int n = b.length;
        raw(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24);
        out.writeBytes(b);
        return this;
    }

    /** BININT1. */
    public Pickles int1(int v) {
        return op('K').raw(v);
    }

    /** GLOBAL module\nname\n. */
    public Pickles global(String module, String name) {
        op('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.ISO_8859_1));
        return this;
    }

    /** {@code ('storage', torch.FloatStorage, key, 'cpu', numel)} as a persistent id (BINPERSID). */
    public Pickles floatStorage(String key, int numel) {
        op('(').str("storage").global("torch", "FloatStorage").str(key).str("cpu").int1(numel).op('t').op('Q');
        return this;
    }

    /** A rebuilt F32 tensor over storage "0" of {@code numel} elements with the given sizes and strides (each < 256). */
    public Pickles tensor(int numel, int offset, int[] size, int[] stride) {
        global("torch._utils", "_rebuild_tensor_v2").op('(');
        floatStorage("0", numel);
        int1(offset);
        op('(');
        for (int s : size) int1(s);
        op('t').op('(');
        for (int s : stride) int1(s);
        op('t').raw(0x89).op('N').op('t').op('R');
        return this;
    }

    /** {'w': tensor} then STOP. */
    public static byte[] stateDict(int numel, int offset, int[] size, int[] stride) {
        return proto2().op('}').str("w").tensor(numel, offset, size, stride).op('s').op('.').bytes();
    }

    public byte[] bytes() {
        return out.toByteArray();
    }

    /** A zip like torch.save's: {@code archive/data.pkl} and {@code archive/data/0}, each stored or deflated. */
    public static Path zip(Path file, byte[] pkl, boolean deflatePkl, byte[] storage, boolean deflateStorage) throws IOException {
        try (OutputStream os = Files.newOutputStream(file); ZipOutputStream zos = new ZipOutputStream(new java.io.BufferedOutputStream(os))) {
            put(zos, "archive/data.pkl", pkl, deflatePkl);
            if (storage != null) put(zos, "archive/data/0", storage, deflateStorage);
        }
        return file;
    }

    private static void put(ZipOutputStream zos, String name, byte[] data, boolean deflate) throws IOException {
        ZipEntry e = new ZipEntry(name);
        // a fixed time, so that the same call writes the same bytes (fuzz seeds must not change between runs)
        e.setTimeLocal(java.time.LocalDateTime.of(2020, 1, 1, 0, 0));
        if (!deflate) {
            CRC32 crc = new CRC32();
            crc.update(data);
            e.setMethod(ZipEntry.STORED);
            e.setSize(data.length);
            e.setCompressedSize(data.length);
            e.setCrc(crc.getValue());
        }
        zos.putNextEntry(e);
        zos.write(data);
        zos.closeEntry();
    }
}
