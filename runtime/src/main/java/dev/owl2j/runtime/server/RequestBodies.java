package dev.owl2j.runtime.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.concurrent.Semaphore;

/**
 * Reads request bodies with bounded memory and parses them as JSON with bounded work. A body longer than the
 * limit is refused as soon as its length is known (or its bytes pass the limit, for chunked bodies, which Javalin
 * does not check); all bodies being read or prepared together share a byte budget, so many large requests at once
 * get 429 instead of exhausting the heap. The parser refuses deep nesting, duplicate keys and trailing data, and
 * every failure is a one-line 400.
 */
final class RequestBodies {
    /** Deepest JSON nesting accepted: requests need about 6, a JSON schema in response_format a few dozen. */
    static final int MAX_NESTING = 64;

    private final long maxBytes;
    private final long budgetBytes;
    private final Semaphore budget;
    private final ObjectMapper json;

    RequestBodies(long maxBytes, long budgetBytes) {
        this.maxBytes = maxBytes;
        this.budgetBytes = Math.max(budgetBytes, maxBytes);
        this.budget = new Semaphore((int) Math.min(Integer.MAX_VALUE, this.budgetBytes >> 10)); // permits are KiB
        this.json = mapper(maxBytes);
    }

    /** The parser with the server's limits: strings as long as a body, nesting {@link #MAX_NESTING}. */
    static ObjectMapper mapper(long maxBytes) {
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder()
                        .maxNestingDepth(MAX_NESTING)
                        .maxStringLength((int) Math.min(Integer.MAX_VALUE, maxBytes))
                        .maxDocumentLength(maxBytes)
                        .maxNumberLength(100)
                        .build())
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .build();
        return new ObjectMapper(factory).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    /** A body held in memory; {@link #close} gives its bytes back to the budget. */
    final class Body implements AutoCloseable {
        private int heldKiB;
        private byte[] bytes;

        byte[] bytes() {
            return bytes;
        }

        /** The body as a JSON object, or a 400 naming what is wrong. */
        JsonNode json() {
            return parse(bytes);
        }

        private void hold(long totalBytes) {
            int need = (int) Math.min(Integer.MAX_VALUE, (totalBytes + 1023) >> 10) - heldKiB;
            if (need <= 0) return;
            if (!budget.tryAcquire(need)) {
                throw new ApiException(429, "server_busy", "server_busy", "too many large requests are being read at once"
                        + " (their bodies would pass the server's " + (budgetBytes >> 20) + " MiB budget); retry later");
            }
            heldKiB += need;
        }

        @Override
        public void close() {
            bytes = null;
            if (heldKiB > 0) {
                budget.release(heldKiB);
                heldKiB = 0;
            }
        }
    }

    /** Body bytes held now by requests being read or prepared (in KiB steps). */
    long heldBytes() {
        return ((budgetBytes >> 10) - budget.availablePermits()) << 10;
    }

    /** Reads the whole body of a request whose declared length is {@code declared} (-1: unknown, chunked). */
    Body read(InputStream in, long declared) {
        if (declared > maxBytes) {
            throw tooLarge();
        }
        Body body = new Body();
        try {
            body.hold(Math.max(declared, 0));
            ByteArrayOutputStream out = new ByteArrayOutputStream((int) Math.max(0, Math.min(declared, 1 << 20)));
            byte[] buf = new byte[64 << 10];
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (out.size() + (long) n > maxBytes) {
                    throw tooLarge();
                }
                out.write(buf, 0, n);
                body.hold(out.size());
            }
            body.bytes = out.toByteArray();
            return body;
        } catch (IOException e) {
            body.close();
            throw ApiException.badRequest("invalid_body", "the request body could not be read completely (the client"
                    + " stopped sending or took longer than the server's read timeout)");
        } catch (RuntimeException e) {
            body.close();
            throw e;
        }
    }

    private ApiException tooLarge() {
        return new ApiException(413, "invalid_request_error", "request_too_large", "the request body is larger than "
                + maxBytes + " bytes (the images allowed per request as base64, plus 1 MiB)");
    }

    /** Parses a body that must be one JSON object. */
    JsonNode parse(byte[] bytes) {
        if (isBlank(bytes)) {
            throw ApiException.badRequest("invalid_json", "the request body is empty; send a JSON object");
        }
        JsonNode node;
        try {
            node = json.readTree(bytes);
        } catch (StreamConstraintsException e) {
            throw ApiException.badRequest("invalid_json", "the JSON body is over a limit: " + constraint(e));
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            String where = at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr();
            String msg = e.getOriginalMessage() == null ? "" : e.getOriginalMessage().lines().findFirst().orElse("");
            throw ApiException.badRequest("invalid_json", "malformed JSON" + where + ": " + clip(msg));
        } catch (IOException e) {
            throw ApiException.badRequest("invalid_json", "malformed JSON: " + e.getClass().getSimpleName());
        }
        if (node == null || !node.isObject()) {
            throw ApiException.badRequest("invalid_json", "the request body must be a JSON object");
        }
        return node;
    }

    private static String constraint(StreamConstraintsException e) {
        String m = e.getOriginalMessage() == null ? "" : e.getOriginalMessage();
        if (m.startsWith("Document nesting depth")) return "objects and arrays nested deeper than " + MAX_NESTING + " levels";
        if (m.startsWith("String value length")) return "a string longer than the largest request body";
        if (m.startsWith("Number value length")) return "a number longer than 100 digits";
        if (m.startsWith("Name length")) return "an object key that is too long";
        if (m.startsWith("Document length")) return "the document is longer than the largest request body";
        return clip(m.lines().findFirst().orElse(""));
    }

    /** Jackson quotes pieces of the input in its messages; keep them short. */
    private static String clip(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "...";
    }

    private static boolean isBlank(byte[] b) {
        for (byte x : b) {
            if (x != ' ' && x != '\t' && x != '\n' && x != '\r') return false;
        }
        return true;
    }
}
