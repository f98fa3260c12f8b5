package dev.owl2j.runtime.server;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Base64;
import java.util.Iterator;

/**
 * Fetches the bytes of an image given as an OpenAI {@code image_url}: a {@code data:} URI with base64
 * content, or (only when allowed) an http(s) URL fetched with a time and size limit. The image header is
 * checked before any decoding so that unknown formats and oversized pictures are refused cheaply.
 */
final class ImageLoader {
    private final ServerOptions options;
    private final HttpClient http;

    ImageLoader(ServerOptions options) {
        this.options = options;
        this.http = options.allowRemoteImages()
                ? HttpClient.newBuilder().connectTimeout(options.remoteImageTimeout())
                        .followRedirects(HttpClient.Redirect.NORMAL).build()
                : null;
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
        } else if (url.regionMatches(true, 0, "http://", 0, 7) || url.regionMatches(true, 0, "https://", 0, 8)) {
            if (!options.allowRemoteImages()) {
                throw ApiException.badRequest("remote_images_disabled",
                        what + ": remote image URLs are disabled (start the server with --allow-remote-images, or send a data: URI)");
            }
            data = fetch(url, what);
        } else {
            throw ApiException.badRequest("invalid_image_url", what + ": image_url must be a data: URI"
                    + (options.allowRemoteImages() ? " or an http(s) URL" : ""));
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
        String payload = uri.substring(comma + 1).replaceAll("\\s", "");
        if (payload.length() > maxChars) {
            throw ApiException.badRequest("image_too_large", what + ": more than " + options.maxImageBytes() + " bytes");
        }
        try {
            return Base64.getDecoder().decode(payload);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("invalid_base64", what + ": broken base64 data (" + e.getMessage() + ")");
        }
    }

    /**
     * GET with one deadline for the whole transfer: the client's timeout covers only the wait for the headers,
     * so the body is read on a virtual thread and abandoned (stream closed) when the deadline passes.
     */
    private byte[] fetch(String url, String what) {
        long deadline = System.nanoTime() + options.remoteImageTimeout().toNanos();
        String timedOut = what + ": fetching the URL timed out after " + options.remoteImageTimeout().toSeconds() + " s";
        HttpResponse<InputStream> response;
        try {
            HttpRequest request = HttpRequest.newBuilder(URI.create(url)).timeout(options.remoteImageTimeout()).GET().build();
            response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("invalid_image_url", what + ": not a valid URL");
        } catch (java.net.http.HttpTimeoutException e) {
            throw ApiException.badRequest("image_fetch_failed", timedOut);
        } catch (IOException e) {
            throw ApiException.badRequest("image_fetch_failed", what + ": fetching the URL failed (" + e.getClass().getSimpleName() + ")");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.badRequest("image_fetch_failed", what + ": interrupted while fetching the URL");
        }
        InputStream in = response.body();
        try (in) {
            if (response.statusCode() != 200) {
                throw ApiException.badRequest("image_fetch_failed", what + ": fetching the URL gave HTTP " + response.statusCode());
            }
            long declared = response.headers().firstValueAsLong("content-length").orElse(-1);
            if (declared > options.maxImageBytes()) {
                throw ApiException.badRequest("image_too_large", what + ": " + declared + " bytes, the limit is " + options.maxImageBytes());
            }
            java.util.concurrent.CompletableFuture<byte[]> body = new java.util.concurrent.CompletableFuture<>();
            Thread.ofVirtual().start(() -> {
                try {
                    body.complete(readLimited(in, what));
                } catch (Throwable t) {
                    body.completeExceptionally(t);
                }
            });
            try {
                return body.get(Math.max(0, deadline - System.nanoTime()), java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                throw ApiException.badRequest("image_fetch_failed", timedOut);
            } catch (java.util.concurrent.ExecutionException e) {
                if (e.getCause() instanceof ApiException a) throw a;
                throw ApiException.badRequest("image_fetch_failed", what + ": fetching the URL failed (" + e.getCause().getClass().getSimpleName() + ")");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw ApiException.badRequest("image_fetch_failed", what + ": interrupted while fetching the URL");
            }
        } catch (IOException e) {
            throw ApiException.badRequest("image_fetch_failed", what + ": fetching the URL failed (" + e.getClass().getSimpleName() + ")");
        }
    }

    private byte[] readLimited(InputStream in, String what) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] buf = new byte[65536];
        int n;
        while ((n = in.read(buf)) >= 0) {
            out.write(buf, 0, n);
            if (out.size() > options.maxImageBytes()) {
                throw ApiException.badRequest("image_too_large", what + ": more than " + options.maxImageBytes() + " bytes");
            }
        }
        return out.toByteArray();
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
