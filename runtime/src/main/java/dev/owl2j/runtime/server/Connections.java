package dev.owl2j.runtime.server;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.server.ConnectionLimit;
import org.eclipse.jetty.server.HttpChannel;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.thread.Scheduler;

import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Jetty connector's defences against slow and abusive clients, all with Jetty's own mechanisms:
 * <ul>
 *   <li>a read deadline: a connection must deliver each request's headers and body within {@code --read-timeout}
 *       of opening or of its previous answer, else it is closed (the idle timeout alone lets a client that sends a
 *       byte now and then hold a connection forever); the same timeout is the idle limit while Jetty waits to read
 *       or write, never while a request waits for the engine;</li>
 *   <li>a connection cap: connections opened while {@code --max-connections} are open get 503
 *       {@code too_many_connections} for API requests and are closed after that answer, but still get /health and
 *       /metrics; they also get a short read deadline, so a flood of idle sockets drains quickly;</li>
 *   <li>a hard limit below the process's file descriptors ({@link ConnectionLimit}): beyond it Jetty stops
 *       accepting until connections close, and idle ones are closed after a second;</li>
 *   <li>errors Jetty answers itself (a malformed request line, headers over 8 KiB) as OpenAI error objects.</li>
 * </ul>
 */
final class Connections implements Connection.Listener, HttpChannel.Listener {
    /** The read deadline of a connection opened over the cap: enough for a /health request, short for a flood. */
    static final long OVER_CAP_DEADLINE_MILLIS = 1000;

    /** Where a connection is: waiting for (or reading) a request, which has a deadline, or being answered. */
    private static final class State {
        final boolean overCap;
        volatile int generation;
        volatile boolean handling;

        State(boolean overCap) {
            this.overCap = overCap;
        }
    }

    private final ServerOptions options;
    private final ServerMetrics metrics;
    private final Map<Connection, State> states = new ConcurrentHashMap<>();
    private final AtomicInteger open = new AtomicInteger();
    private Scheduler scheduler;

    Connections(ServerOptions options, ServerMetrics metrics) {
        this.options = options;
        this.metrics = metrics;
        metrics.gauge("owl2j_connections_open", "HTTP connections open now.", open::get);
    }

    /** The most connections open at once: four times the cap, and at most half the file descriptors. */
    int hardLimit() {
        long fds = Long.MAX_VALUE;
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.UnixOperatingSystemMXBean unix) {
            fds = unix.getMaxFileDescriptorCount();
        }
        return (int) Math.max(options.maxConnections() + 1, Math.min(4L * options.maxConnections(), fds / 2));
    }

    /** The connector for Javalin's Jetty server, with the timeouts, the cap and the JSON error pages. */
    ServerConnector connector(Server server, HttpConfiguration httpConfig) {
        httpConfig.setSendServerVersion(false);
        ServerConnector c = new ServerConnector(server, new HttpConnectionFactory(httpConfig));
        c.setHost(options.host());
        c.setPort(options.port());
        c.setIdleTimeout(options.readTimeout().toMillis());
        c.setAcceptQueueSize(1024);
        c.addBean(this);
        ConnectionLimit limit = new ConnectionLimit(hardLimit(), c);
        limit.setIdleTimeout(Math.min(1000, options.readTimeout().toMillis()));
        server.addBean(limit);
        server.setErrorHandler(new JsonErrors());
        scheduler = c.getScheduler();
        return c;
    }

    /** True when this request came on a connection opened over the cap (it gets 503 unless it asks for health or metrics). */
    boolean overCap(Request request) {
        State s = states.get(request.getHttpChannel().getConnection());
        return s != null && s.overCap;
    }

    // ---------------------------------------------------------------- Connection.Listener

    @Override
    public void onOpened(Connection connection) {
        boolean over = open.incrementAndGet() > options.maxConnections();
        State s = new State(over);
        states.put(connection, s);
        if (over) metrics.connectionRefused("over_connection_cap");
        expectRequest(connection, s);
    }

    @Override
    public void onClosed(Connection connection) {
        open.decrementAndGet();
        states.remove(connection);
    }

    // ---------------------------------------------------------------- HttpChannel.Listener

    @Override
    public void onRequestEnd(Request request) {
        State s = states.get(request.getHttpChannel().getConnection());
        if (s != null) {
            s.handling = true;
            s.generation++;
        }
    }

    @Override
    public void onComplete(Request request) {
        Connection c = request.getHttpChannel().getConnection();
        State s = states.get(c);
        if (s != null) {
            s.handling = false;
            expectRequest(c, s);
        }
    }

    /** Starts the deadline for the next request's headers and body on {@code c}. */
    private void expectRequest(Connection c, State s) {
        int generation = ++s.generation;
        long millis = s.overCap ? Math.min(OVER_CAP_DEADLINE_MILLIS, options.readTimeout().toMillis()) : options.readTimeout().toMillis();
        Scheduler sch = scheduler;
        if (sch == null) return;
        sch.schedule(() -> {
            if (s.generation == generation && !s.handling && states.get(c) == s) {
                metrics.connectionRefused("read_timeout");
                c.getEndPoint().close();
            }
        }, millis, TimeUnit.MILLISECONDS);
    }

    /** Jetty's own error answers (bad request line, oversized headers) as OpenAI error objects. */
    private static final class JsonErrors extends ErrorHandler {
        @Override
        public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
            fields.put(HttpHeader.CONTENT_TYPE, "application/json");
            String message = reason == null ? org.eclipse.jetty.http.HttpStatus.getMessage(status) : reason;
            ApiException e = new ApiException(status, "invalid_request_error", "bad_http_request",
                    "malformed HTTP request: " + message);
            return ByteBuffer.wrap(Responses.errorBody(e).toString().getBytes(StandardCharsets.UTF_8));
        }
    }
}
