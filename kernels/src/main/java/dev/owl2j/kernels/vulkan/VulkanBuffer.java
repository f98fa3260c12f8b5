package dev.owl2j.kernels.vulkan;

import dev.owl2j.kernels.Buffer;
import dev.owl2j.kernels.DeviceException;

import java.nio.ByteBuffer;

/** A device-local storage buffer; transfers are blocking and go through the context's staging buffer. */
final class VulkanBuffer implements Buffer {
    final VulkanMemory.Allocation allocation;
    private final VulkanContext ctx;
    private final long bytes;
    private boolean released;

    VulkanBuffer(VulkanContext ctx, VulkanMemory.Allocation allocation, long bytes) {
        this.ctx = ctx;
        this.allocation = allocation;
        this.bytes = bytes;
    }

    @Override
    public long bytes() {
        return bytes;
    }

    /** Bytes bound to a kernel: the whole allocation, a multiple of 4 (kernels may read the last word whole). */
    long size() {
        return allocation.size();
    }

    long handle() {
        if (released) throw new DeviceException("a closed Vulkan buffer was passed to a kernel");
        return allocation.buffer();
    }

    @Override
    public void write(long byteOffset, ByteBuffer src) {
        range(byteOffset, src.remaining());
        ctx.write(this, byteOffset, src);
    }

    @Override
    public void read(long byteOffset, ByteBuffer dst) {
        range(byteOffset, dst.remaining());
        ctx.read(this, byteOffset, dst);
    }

    private void range(long off, long n) {
        if (released) throw new DeviceException("access to a closed Vulkan buffer");
        if (off < 0 || n < 0 || off + n > allocation.size()) {
            throw new DeviceException("buffer access [" + off + ", " + (off + n) + ") outside a buffer of " + bytes + " bytes");
        }
    }

    @Override
    public void close() {
        if (released) return;
        released = true;
        ctx.flush(); // pending launches may still use this buffer
        ctx.freed(allocation.size());
        allocation.close();
    }
}
