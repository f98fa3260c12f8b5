package dev.owl2j.runtime.hub;

import dev.owl2j.model.Owl2jException;

import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpConnectTimeoutException;
import java.nio.channels.UnresolvedAddressException;

/**
 * What the hub or the network did wrong, as one line a user can act on (the exception's class name is for
 * --debug, never for users), and the check that a redirect stays on http(s).
 */
final class HubErrors {
    private HubErrors() {}

    /** Where a redirect goes: only to another http(s) URL (never file:, ftp: or a malformed one). */
    static URI redirectTarget(URI original, URI current, String location) {
        URI next;
        try {
            next = current.resolve(location.strip());
        } catch (IllegalArgumentException e) {
            throw new Owl2jException("the hub redirected " + original + " to a malformed location");
        }
        String scheme = next.getScheme() == null ? "" : next.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (!(scheme.equals("http") || scheme.equals("https")) || next.getHost() == null) {
            throw new Owl2jException("the hub redirected " + original + " to a location that is not an http(s) URL; refused");
        }
        return next;
    }

    static Owl2jException httpError(URI endpoint, boolean hasToken, RepoRef ref, RemoteFile f, int status, String errorCode) {
        String what = f == null ? "" : " (file " + f.path() + ")";
        if (errorCode.equals("RevisionNotFound")) {
            return new Owl2jException("revision " + ref.revision() + " not found in " + ref.repo() + " at " + endpoint);
        }
        if (errorCode.equals("GatedRepo")) {
            return new Owl2jException(ref.repo() + " is gated: accept its terms on the hub, then set HF_TOKEN"
                    + (hasToken ? " (the HF_TOKEN given has no access yet)" : ""));
        }
        if (errorCode.equals("EntryNotFound")) {
            return new Owl2jException("file " + (f == null ? "?" : f.path()) + " not found in " + ref);
        }
        return switch (status) {
            case 401, 403 -> new Owl2jException(hasToken
                    ? "access to " + ref.repo() + " denied (HTTP " + status + ")" + what + ": the HF_TOKEN given cannot read it"
                    : "access to " + ref.repo() + " denied (HTTP " + status + ")" + what
                      + ": it may be private or gated, or not exist; set HF_TOKEN to a token that can read it");
            case 404 -> new Owl2jException(f == null
                    ? "model " + ref.repo() + " or its revision " + ref.revision() + " not found at " + endpoint
                    : "file " + f.path() + " of " + ref + " not found at " + endpoint + " (HTTP 404)");
            default -> new Owl2jException("the hub at " + endpoint + " answered HTTP " + status
                    + " for " + ref + what);
        };
    }

    static Owl2jException networkError(URI uri, IOException e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String host = uri.getHost() + (uri.getPort() >= 0 ? ":" + uri.getPort() : "");
        if (root instanceof UnresolvedAddressException || root instanceof UnknownHostException) {
            return new Owl2jException("cannot reach the hub: unknown host " + uri.getHost()
                    + " (no network, or a wrong --endpoint / HF_ENDPOINT?)");
        }
        if (e instanceof HttpConnectTimeoutException) {
            return new Owl2jException("cannot reach the hub at " + host + ": connection timed out (no network?)");
        }
        if (e instanceof ConnectException || root instanceof ConnectException) {
            return new Owl2jException("cannot reach the hub at " + host + ": connection refused (no network, or a wrong --endpoint / HF_ENDPOINT?)");
        }
        return new Owl2jException("cannot reach the hub at " + host + ": " + ioProblem(e));
    }

    /** What went wrong on the wire, in words (the exception's class name is for --debug, not for users). */
    static String ioProblem(IOException e) {
        if (e instanceof java.net.http.HttpTimeoutException) {
            return "timed out";
        }
        if (e instanceof java.io.EOFException || e instanceof java.net.SocketException) {
            return "connection lost" + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")");
        }
        if (e instanceof javax.net.ssl.SSLException) {
            return "TLS error" + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")");
        }
        return "network error" + (e.getMessage() == null ? "" : " (" + e.getMessage() + ")");
    }
}
