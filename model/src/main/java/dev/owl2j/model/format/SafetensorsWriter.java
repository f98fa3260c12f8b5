package dev.owl2j.model.format;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.owl2j.model.io.SafeFileWriter;
import dev.owl2j.model.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Writes tensors to one safetensors file: 8-byte header length, JSON header (padded with spaces to a multiple
 * of 8 so that data stays aligned), then the raw little-endian bytes in the given order. The file goes through
 * {@link SafeFileWriter}: a crash never leaves a half-written checkpoint, and only a regular file is replaced.
 */
public final class SafetensorsWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private SafetensorsWriter() {}

    public static void write(Path file, List<Tensor> tensors, Map<String, String> metadata) {
        ObjectNode header = JSON.createObjectNode();
        if (metadata != null && !metadata.isEmpty()) {
            ObjectNode m = header.putObject("__metadata__");
            metadata.forEach(m::put);
        }
        long offset = 0;
        for (Tensor t : tensors) {
            ObjectNode e = header.putObject(t.name());
            e.put("dtype", t.dtype().safetensorsName());
            ArrayNode shape = e.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            ArrayNode offs = e.putArray("data_offsets");
            offs.add(offset);
            offset += t.data().byteSize();
            offs.add(offset);
        }
        byte[] h;
        try {
            h = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        int padded = (h.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(h);
        while (head.hasRemaining()) head.put((byte) ' ');
        head.flip();
        try (SafeFileWriter w = SafeFileWriter.create(file); Arena arena = Arena.ofConfined()) {
            FileChannel ch = w.channel();
            while (head.hasRemaining()) ch.write(head);
            long total = head.capacity() + offset;
            MemorySegment out = ch.map(FileChannel.MapMode.READ_WRITE, 0, total, arena);
            long pos = head.capacity();
            for (Tensor t : tensors) {
                MemorySegment.copy(t.data(), 0, out, pos, t.data().byteSize());
                pos += t.data().byteSize();
            }
            out.force();
            w.commit();
        } catch (IOException e) {
            throw SafeFileWriter.failure(file, e);
        }
    }
}
