package dev.owl2j.runtime.server;

import dev.owl2j.model.Owl2jException;
import io.javalin.http.Context;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * Browser safety and the optional API key, checked before every handler:
 * <ul>
 *   <li><b>Host</b>: a browser tricked by DNS rebinding (a name that first resolved to the attacker, then to
 *       127.0.0.1) sends the attacker's name as Host. Only IP literals, {@code localhost} and the names given with
 *       {@code --host-name} are answered (403 {@code invalid_host}).</li>
 *   <li><b>Origin</b>: a web page may POST to any address ("simple" requests need no CORS preflight), so a
 *       request carrying an Origin header is refused (403 {@code cross_origin_refused}) unless the origin is the
 *       server itself or was allowed with {@code --cors}; only then do answers carry CORS headers.</li>
 *   <li><b>API key</b>: with {@code --api-key}, every request but {@code /health} and CORS preflights needs
 *       {@code Authorization: Bearer KEY} (401 {@code invalid_api_key}), compared in constant time.</li>
 * </ul>
 */
final class AccessGuard {
    private static final Pattern ORIGIN = Pattern.compile("(?i)https?://[a-z0-9.\\-]+(:[0-9]{1,5})?|(?i)https?://\\[[0-9a-f:.]+\\](:[0-9]{1,5})?");
    private static final Pattern IPV4 = Pattern.compile("[0-9]{1,3}(\\.[0-9]{1,3}){3}");

    private final Set<String> hostNames;
    private final Set<String> corsOrigins;
    private final byte[] keyDigest;

    AccessGuard(ServerOptions options) {
        this.hostNames = options.hostNames().stream().map(h -> h.toLowerCase(Locale.ROOT)).collect(Collectors.toUnmodifiableSet());
        this.corsOrigins = options.corsOrigins().stream().map(AccessGuard::normalizeOrigin).collect(Collectors.toUnmodifiableSet());
        this.keyDigest = options.apiKey() == null ? null : sha256(options.apiKey());
    }

    /** Checks the {@code --cors} values (scheme://host[:port], no path, no wildcard); one-line errors. */
    static List<String> checkOrigins(List<String> origins) {
        for (String o : origins) {
            if (o.equals("*")) {
                throw new Owl2jException("--cors: '*' would let every web page use the server; name the origin (https://app.example.com)");
            }
            if (!ORIGIN.matcher(o).matches()) {
                throw new Owl2jException("--cors: '" + o + "' is not an origin (scheme://host[:port], e.g. https://app.example.com)");
            }
        }
        return origins;
    }

    /** Checks the {@code --host-name} values: DNS names only. */
    static List<String> checkHostNames(List<String> names) {
        for (String n : names) {
            if (!PublicAddresses.acceptableHostSyntax(n) || n.startsWith("[") || IPV4.matcher(n).matches()) {
                throw new Owl2jException("--host-name: '" + n + "' is not a DNS name (IP addresses are always accepted)");
            }
        }
        return names;
    }

    /** Before every handler. */
    void check(Context ctx) {
        String host = ctx.header("Host");
        if (host != null && !hostAllowed(host)) {
            throw new ApiException(403, "invalid_request_error", "invalid_host", "the Host header '" + PromptBuilder.clip(host)
                    + "' names no address of this server (start it with --host-name NAME to answer to a name)");
        }
        String origin = ctx.header("Origin");
        if (origin != null) {
            if (corsOrigins.contains(normalizeOrigin(origin))) {
                ctx.header("Access-Control-Allow-Origin", origin);
                ctx.header("Vary", "Origin");
            } else if (!sameOrigin(origin, host)) {
                throw new ApiException(403, "invalid_request_error", "cross_origin_refused", "requests from web pages of other"
                        + " origins are refused (origin '" + PromptBuilder.clip(origin) + "'; start the server with --cors ORIGIN to allow one)");
            }
        }
        if (keyDigest != null && !ctx.path().equals("/health") && !ctx.method().name().equals("OPTIONS")) {
            String auth = ctx.header("Authorization");
            boolean ok = auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)
                    && MessageDigest.isEqual(keyDigest, sha256(auth.substring(7).trim()));
            if (!ok) {
                ctx.header("WWW-Authenticate", "Bearer");
                throw new ApiException(401, "invalid_request_error", "invalid_api_key", auth == null
                        ? "this server needs an API key: send Authorization: Bearer KEY" : "the API key is not valid");
            }
        }
    }

    /** A CORS preflight ({@code OPTIONS}): allowed origins learn what they may send; others get 403. */
    void preflight(Context ctx) {
        String origin = ctx.header("Origin");
        if (origin == null || !corsOrigins.contains(normalizeOrigin(origin))) {
            throw new ApiException(403, "invalid_request_error", "cross_origin_refused",
                    "no cross-origin requests are allowed from this origin (start the server with --cors ORIGIN)");
        }
        ctx.header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
        ctx.header("Access-Control-Allow-Headers", "Authorization, Content-Type");
        ctx.header("Access-Control-Max-Age", "600");
        ctx.status(204);
    }

    private boolean hostAllowed(String hostHeader) {
        String h = hostHeader.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[")) {
            int end = h.indexOf(']');
            return end > 0 && h.substring(1, end).matches("[0-9a-f:.]+"); // an IPv6 literal
        }
        int colon = h.lastIndexOf(':');
        if (colon >= 0) h = h.substring(0, colon);
        if (h.endsWith(".")) h = h.substring(0, h.length() - 1);
        return IPV4.matcher(h).matches() || h.equals("localhost") || hostNames.contains(h);
    }

    /** The page's origin is this server itself (its Host), as for a page the server or its proxy serves. */
    private static boolean sameOrigin(String origin, String host) {
        if (host == null) return false;
        try {
            URI u = URI.create(origin);
            if (u.getHost() == null) return false;
            String authority = u.getPort() < 0 ? u.getHost() : u.getHost() + ":" + u.getPort();
            return authority.equalsIgnoreCase(host.trim());
        } catch (IllegalArgumentException e) {
            return false; // "null" and other opaque origins are never this server
        }
    }

    private static String normalizeOrigin(String origin) {
        String o = origin.trim().toLowerCase(Locale.ROOT);
        return o.endsWith("/") ? o.substring(0, o.length() - 1) : o;
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
