package dev.owl2j.model.image;

import javax.imageio.stream.ImageInputStreamImpl;
import java.io.IOException;

/**
 * An image file's bytes as the ImageIO readers' input, with a bound on reading past the end. Some readers
 * swallow the end-of-file exception and go on decoding zeros (TwelveMonkeys' lossless WebP bit reader does, and
 * a truncated file then loops for minutes); after {@link #MAX_READS_PAST_END} reads past the end this stream throws
 * {@link PastEnd}, an unchecked exception no reader catches as an I/O error, and the decoder reports a truncated
 * file (docs/security.md, Images).
 */
final class ByteImageInputStream extends ImageInputStreamImpl {
    /** Reads past the end allowed before giving up; readers that stop at the end need a handful. */
    static final int MAX_READS_PAST_END = 1024;

    /** Thrown when a reader keeps reading past the end of the data. */
    static final class PastEnd extends RuntimeException {
        PastEnd() {
            super("the reader kept reading past the end of the file", null, false, false);
        }
    }

    private final byte[] data;
    private int readsPastEnd;

    ByteImageInputStream(byte[] data) {
        this.data = data;
    }

    @Override
    public int read() throws IOException {
        checkClosed();
        bitOffset = 0;
        if (streamPos >= data.length) {
            pastEnd();
            return -1;
        }
        return data[(int) streamPos++] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        checkClosed();
        java.util.Objects.checkFromIndexSize(off, len, b.length);
        bitOffset = 0;
        if (len == 0) return 0;
        if (streamPos >= data.length) {
            pastEnd();
            return -1;
        }
        int n = (int) Math.min(len, data.length - streamPos);
        System.arraycopy(data, (int) streamPos, b, off, n);
        streamPos += n;
        return n;
    }

    @Override
    public long length() {
        return data.length;
    }

    private void pastEnd() {
        if (++readsPastEnd > MAX_READS_PAST_END) throw new PastEnd();
    }
}
