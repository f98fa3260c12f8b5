package dev.owl2j.runtime.server;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.util.Base64;
import java.util.Iterator;
import java.util.function.Predicate;

/**
 * Fetches the bytes of an image given as an OpenAI {@code image_url}: a {@code data:} URI with base64
 * content, or (only when allowed) an http(s) URL from a public address ({@link RemoteImages}). The image header is
 * checked before any decoding so that unknown formats and oversized pictures are refused cheaply.
 */
final class ImageLoader implements AutoCloseable {
    private final ServerOptions options;
    private final RemoteImages remote;

    ImageLoader(ServerOptions options) {
        this(options, new PublicAddresses());
    }

    /** {@code allowed}: the addresses remote images may come from (tests widen it to their loopback image host). */
    ImageLoader(ServerOptions options, Predicate<InetAddress> allowed) {
        this.options = options;
        this.remote = options.allowRemoteImages() ? new RemoteImages(options, allowed) : null;
    }

    /** True for an http(s) URL (fetched over the network, so not on the preparation pool). */
    boolean isRemote(String url) {
        return url != null && (url.regionMatches(true, 0, "http://", 0, 7) || url.regionMatches(true, 0, "https://", 0, 8));
    }

    /** The image's bytes; {@code what} names it in errors ("image 1"). */
    byte[] load(String url, String what) {
        if (url == null || url.isBlank()) {
            throw ApiException.badRequest("invalid_image_url", what + ": image_url.url is missing");
        }
        byte[] data;
        if (url.regionMatches(true, 0, "data:", 0, 5)) {
            data = decodeDataUri(url, what);
        } else if (isRemote(url)) {
            if (remote == null) {
                throw ApiException.badRequest("remote_images_disabled",
                        what + ": remote image URLs are disabled (start the server with --allow-remote-images, or send a data: URI)");
            }
            if (url.length() > RemoteImages.MAX_URL_CHARS) {
                throw ApiException.badRequest("invalid_image_url", what + ": the URL is longer than " + RemoteImages.MAX_URL_CHARS + " characters");
            }
            data = remote.fetch(url, what);
            if (data == null) throw RemoteImages.failed(what, options);
        } else {
            throw ApiException.badRequest("invalid_image_url", what + ": image_url must be a data: URI"
                    + (remote != null ? " or an http(s) URL" : ""));
        }
        checkHeader(data, what);
        return data;
    }

    private byte[] decodeDataUri(String uri, String what) {
        int comma = uri.indexOf(',');
        if (comma < 0) {
            throw ApiException.badRequest("invalid_image_url", what + ": data URI has no ',' before the data");
        }
        String meta = uri.substring(5, comma);
        if (!meta.toLowerCase(java.util.Locale.ROOT).endsWith(";base64")) {
            throw ApiException.badRequest("invalid_image_url", what + ": data URI must be base64 (data:image/png;base64,...)");
        }
        long maxChars = (options.maxImageBytes() + 2L) / 3 * 4 + 4;
        String payload = uri.substring(comma + 1);
        if (payload.length() > maxChars * 2) { // whitespace may pad it, but not to twice the limit
            throw ApiException.badRequest("image_too_large", what + ": more than " + options.maxImageBytes() + " bytes");
        }
        payload = payload.replaceAll("\\s", "");
        if (payload.length() > maxChars) {
            throw ApiException.badRequest("image_too_large", what + ": more than " + options.maxImageBytes() + " bytes");
        }
        try {
            return Base64.getDecoder().decode(payload);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("invalid_base64", what + ": broken base64 data (" + e.getMessage() + ")");
        }
    }

    @Override
    public void close() {
        if (remote != null) remote.close();
    }

    /** Refuses data no installed image reader recognises, and pictures over the pixel limit, from the header alone. */
    private void checkHeader(byte[] data, String what) {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(data))) {
            Iterator<ImageReader> readers = in == null ? null : ImageIO.getImageReaders(in);
            if (readers == null || !readers.hasNext()) {
                throw ApiException.badRequest("unsupported_image_format",
                        what + ": unsupported image format (send PNG, JPEG, GIF, BMP or WebP)");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                long pixels = (long) reader.getWidth(0) * reader.getHeight(0);
                if (pixels > options.maxImagePixels()) {
                    throw ApiException.badRequest("image_too_large", what + ": " + reader.getWidth(0) + "x" + reader.getHeight(0)
                            + " pixels, the limit is " + options.maxImagePixels() + " pixels");
                }
            } finally {
                reader.dispose();
            }
        } catch (IOException e) {
            throw ApiException.badRequest("invalid_image", what + ": cannot read the image header (" + e.getMessage() + ")");
        }
    }
}
