package dev.owl2j.runtime.server;

import org.eclipse.jetty.client.HttpClient;
import org.eclipse.jetty.client.api.ContentResponse;
import org.eclipse.jetty.client.api.Request;
import org.eclipse.jetty.client.util.FutureResponseListener;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.util.HttpCookieStore;
import org.eclipse.jetty.util.Promise;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;

/**
 * Fetches http(s) images for {@code --allow-remote-images} without letting a client reach what the server can
 * reach: every address a host name resolves to is checked before connecting (Jetty's client resolves through
 * {@link #resolve}, so the check covers every redirect and the address checked is the address connected to; a DNS
 * answer cannot change in between), numeric IPv4 spellings are refused, and every failure, whatever its cause, is
 * the same one-line error, so the server cannot be used to probe which hosts and ports exist. The cause goes to
 * the server's log.
 */
final class RemoteImages implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("owl2j.server");
    static final int MAX_REDIRECTS = 3;
    static final int MAX_URL_CHARS = 8192;

    private final Predicate<InetAddress> allowed;
    private final long timeoutMillis;
    private final int maxBytes;
    private HttpClient client;
    private boolean closed;

    RemoteImages(ServerOptions options, Predicate<InetAddress> allowed) {
        this.allowed = allowed;
        this.timeoutMillis = options.remoteImageTimeout().toMillis();
        this.maxBytes = options.maxImageBytes();
    }

    /** The client, started on first use (starting it loads TLS and takes seconds on a busy machine). */
    private synchronized HttpClient client() throws Exception {
        if (closed) throw new IllegalStateException("closed");
        if (client == null) {
            HttpClient c = new HttpClient();
            c.setSocketAddressResolver(this::resolve);
            c.setFollowRedirects(true);
            c.setMaxRedirects(MAX_REDIRECTS);
            c.setConnectTimeout(timeoutMillis);
            c.setIdleTimeout(timeoutMillis);
            c.setCookieStore(new HttpCookieStore.Empty());
            c.setUserAgentField(new HttpField(HttpHeader.USER_AGENT, "owl2j"));
            c.setMaxConnectionsPerDestination(4);
            c.start();
            client = c;
        }
        return client;
    }

    /** The one error every failed fetch gets. */
    static ApiException failed(String what, ServerOptions options) {
        return ApiException.badRequest("image_fetch_failed", what + ": the image URL could not be fetched (it must be a public"
                + " http(s) address that answers 200 with at most " + options.maxImageBytes() + " bytes within "
                + options.remoteImageTimeout().toSeconds() + " s)");
    }

    /**
     * The body of a GET of {@code url}, or null when the fetch failed for any reason (logged): a refused or
     * unresolvable address, a numeric host, a connection or TLS failure, a status other than 200 after at most
     * three redirects, a body over the limit, the time limit.
     */
    byte[] fetch(String url, String what) {
        String why;
        try {
            URI uri = URI.create(url);
            String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
            if (!scheme.equals("http") && !scheme.equals("https")) {
                why = "not http(s)";
            } else if (uri.getRawUserInfo() != null) {
                why = "credentials in the URL";
            } else if (!PublicAddresses.acceptableHostSyntax(uri.getHost())) {
                why = uri.getHost() == null ? "no host name" : "host '" + uri.getHost() + "' is not a DNS name or a canonical IP address";
            } else {
                Request request = client().newRequest(uri).method(HttpMethod.GET).timeout(timeoutMillis, TimeUnit.MILLISECONDS);
                FutureResponseListener listener = new FutureResponseListener(request, maxBytes);
                request.send(listener);
                ContentResponse response = listener.get(timeoutMillis + 1000, TimeUnit.MILLISECONDS);
                if (response.getStatus() == 200) return response.getContent();
                why = "HTTP " + response.getStatus();
            }
        } catch (IllegalArgumentException e) {
            why = "not a valid URL";
        } catch (ExecutionException e) {
            why = e.getCause() == null ? "failed" : e.getCause().getClass().getSimpleName() + ": " + e.getCause().getMessage();
        } catch (TimeoutException e) {
            why = "timed out";
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            why = "interrupted";
        } catch (Exception e) {
            why = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        LOG.log(System.Logger.Level.INFO, "remote image " + what + " refused: " + why);
        return null;
    }

    /** Resolves a host for Jetty's client and keeps only public addresses; none left fails the connection. */
    private void resolve(String host, int port, Promise<List<InetSocketAddress>> promise) {
        try {
            String h = host.contains(":") && !host.startsWith("[") ? "[" + host + "]" : host;
            if (!PublicAddresses.acceptableHostSyntax(h)) { // redirects come here without passing fetch's check
                promise.failed(new UnknownHostException("host '" + host + "' is not a DNS name or a canonical IP address"));
                return;
            }
            InetAddress literal = PublicAddresses.literal(h);
            InetAddress[] all = literal != null ? new InetAddress[]{literal} : InetAddress.getAllByName(host);
            List<InetSocketAddress> out = new ArrayList<>();
            for (InetAddress a : all) {
                if (!allowed.test(a)) {
                    // One non-public answer refuses the name: a name that mixes them is a rebinding attempt.
                    promise.failed(new UnknownHostException(host + " resolves to a non-public address " + a.getHostAddress()));
                    return;
                }
                out.add(new InetSocketAddress(a, port));
            }
            if (out.isEmpty()) {
                promise.failed(new UnknownHostException(host));
                return;
            }
            promise.succeeded(out);
        } catch (UnknownHostException | RuntimeException e) {
            promise.failed(e);
        }
    }

    @Override
    public synchronized void close() {
        closed = true;
        try {
            if (client != null) client.stop();
        } catch (Exception e) {
            // the server is stopping; a client that fails to stop holds nothing the process needs
        }
    }
}
