package dev.owl2j.runtime.hub;

import dev.owl2j.model.Owl2jException;

import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * How to pull.
 *
 * @param endpoint       the hub, e.g. {@code https://huggingface.co} (no trailing slash needed)
 * @param token          bearer token for private or gated repositories, or null
 * @param jobs           files downloaded at once (1..64)
 * @param include        glob patterns ({@link java.nio.file.FileSystem#getPathMatcher} syntax) matched against
 *                       each file's repository path; empty means every file
 * @param attempts       tries per file before giving up (transfers that break resume where they stopped)
 * @param connectTimeout TCP/TLS connect timeout
 * @param timeout        the longest wait for response headers
 * @param stallTimeout   the longest wait for the next bytes of a body: a transfer that stalls longer is dropped and
 *                       resumed
 */
public record PullOptions(URI endpoint, String token, int jobs, List<String> include, int attempts,
                          Duration connectTimeout, Duration timeout, Duration stallTimeout) {
    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";
    public static final String ENDPOINT_ENV = "HF_ENDPOINT";
    public static final String TOKEN_ENV = "HF_TOKEN";
    public static final int DEFAULT_JOBS = 4;

    public PullOptions {
        if (endpoint == null || endpoint.getScheme() == null || endpoint.getHost() == null
                || !(endpoint.getScheme().equals("https") || endpoint.getScheme().equals("http"))) {
            throw new Owl2jException("bad hub endpoint '" + endpoint + "': expected an http(s) URL such as " + DEFAULT_ENDPOINT);
        }
        String s = endpoint.toString();
        while (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        endpoint = URI.create(s);
        if (token != null && token.isBlank()) {
            token = null;
        }
        if (jobs < 1 || jobs > 64) {
            throw new Owl2jException("bad --jobs " + jobs + ": expected 1 to 64");
        }
        include = include == null ? List.of() : List.copyOf(include);
        if (connectTimeout == null || connectTimeout.isNegative() || connectTimeout.isZero()
                || timeout == null || timeout.isNegative() || timeout.isZero()
                || stallTimeout == null || stallTimeout.isNegative() || stallTimeout.isZero()) {
            throw new Owl2jException("bad timeouts " + connectTimeout + ", " + timeout + ", " + stallTimeout
                    + ": expected positive durations");
        }
        if (attempts < 1) {
            throw new Owl2jException("bad attempts " + attempts + ": expected at least 1");
        }
    }

    /** Defaults, with the endpoint from {@code HF_ENDPOINT} and the token from {@code HF_TOKEN} when set. */
    public static PullOptions fromEnv(Map<String, String> env) {
        String endpoint = env.getOrDefault(ENDPOINT_ENV, "");
        return new PullOptions(parseEndpoint(endpoint.isBlank() ? DEFAULT_ENDPOINT : endpoint), env.get(TOKEN_ENV),
                DEFAULT_JOBS, List.of(), 5, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(60));
    }

    public static URI parseEndpoint(String endpoint) {
        try {
            return URI.create(endpoint.strip());
        } catch (IllegalArgumentException e) {
            throw new Owl2jException("bad hub endpoint '" + endpoint + "': " + e.getMessage());
        }
    }

    public PullOptions withEndpoint(URI e) { return new PullOptions(e, token, jobs, include, attempts, connectTimeout, timeout, stallTimeout); }
    public PullOptions withToken(String t) { return new PullOptions(endpoint, t, jobs, include, attempts, connectTimeout, timeout, stallTimeout); }
    public PullOptions withJobs(int j) { return new PullOptions(endpoint, token, j, include, attempts, connectTimeout, timeout, stallTimeout); }
    public PullOptions withInclude(List<String> i) { return new PullOptions(endpoint, token, jobs, i, attempts, connectTimeout, timeout, stallTimeout); }
    /** Both the header wait and the stall limit. */
    public PullOptions withTimeout(Duration t) { return new PullOptions(endpoint, token, jobs, include, attempts, connectTimeout, t, t); }
    public PullOptions withStallTimeout(Duration t) { return new PullOptions(endpoint, token, jobs, include, attempts, connectTimeout, timeout, t); }
    public PullOptions withAttempts(int a) { return new PullOptions(endpoint, token, jobs, include, a, connectTimeout, timeout, stallTimeout); }
}
