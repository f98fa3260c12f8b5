package dev.owl2j.runtime.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --allow-remote-images cannot reach the server's own network: loopback, private, link-local, multicast and other
 * non-public addresses are refused after resolution (names, literals, numeric spellings, IPv4-mapped IPv6) and on
 * every redirect, all with one message, and the refused hosts are never contacted. A live image host on all
 * interfaces counts its requests, so "never contacted" is checked, not assumed.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class RemoteAddressTest {
    static HttpServer images;
    static final Map<String, AtomicInteger> hits = new ConcurrentHashMap<>();
    static int port;

    @BeforeAll
    static void start() throws Exception {
        images = HttpServer.create(new InetSocketAddress(0), 0); // every interface: 127.0.0.2 and ::1 reach it too
        port = images.getAddress().getPort();
        images.createContext("/", ex -> {
            String path = ex.getRequestURI().getPath();
            hits.computeIfAbsent(path, k -> new AtomicInteger()).incrementAndGet();
            String target = switch (path) {
                case "/to-127.0.0.2" -> "http://127.0.0.2:" + port + "/image0.png";
                case "/to-ipv6-loopback" -> "http://[::1]:" + port + "/image0.png";
                case "/to-decimal" -> "http://2130706434:" + port + "/image0.png";
                case "/to-file" -> "file:///etc/passwd";
                case "/to-metadata" -> "http://169.254.169.254/latest/meta-data/";
                case "/loop" -> "http://127.0.0.1:" + port + "/loop";
                default -> null;
            };
            if (target != null) {
                ex.getResponseHeaders().add("Location", target);
                ex.sendResponseHeaders(302, -1);
            } else {
                ex.sendResponseHeaders(200, StubModel.IMAGE0.length);
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(StubModel.IMAGE0);
                }
            }
            ex.close();
        });
        images.start();
    }

    @AfterAll
    static void stop() {
        if (images != null) images.stop(0);
    }

    static OpenAiServer server(java.util.function.Predicate<InetAddress> allowed) {
        ServerOptions d = ServerOptions.defaults();
        ServerOptions o = new ServerOptions("127.0.0.1", 0, 2, 8, true, 2, 1 << 20, d.maxImagePixels(), 100, Duration.ofSeconds(2));
        return new OpenAiServer(new StubModel(2), o, allowed).start();
    }

    static HttpResponse<String> chatWithImage(OpenAiServer server, String url) throws Exception {
        return Wire.post(server.port(), "/v1/chat/completions", Wire.chat("[{\"type\":\"image_url\",\"image_url\":{\"url\":\""
                + url + "\"}},{\"type\":\"text\",\"text\":\"Describe the image.\"}]", "\"max_tokens\":2,\"temperature\":0"));
    }

    static final String SAME = "image 1: the image URL could not be fetched (it must be a public http(s) address that answers 200 with at most 1048576 bytes within 2 s)";

    @Test
    void nonPublicAddressesAreRefusedInEverySpelling() throws Exception {
        hits.clear();
        try (OpenAiServer server = server(new PublicAddresses())) {
            List<String> urls = List.of(
                    "http://127.0.0.1:" + port + "/image0.png", "http://localhost:" + port + "/image0.png",
                    "http://[::1]:" + port + "/image0.png", "http://2130706433:" + port + "/image0.png",
                    "http://0x7f.1:" + port + "/image0.png", "http://0x7f000001:" + port + "/image0.png",
                    "http://127.1:" + port + "/image0.png", "http://0177.0.0.1:" + port + "/image0.png",
                    "http://017700000001:" + port + "/image0.png", "http://[::ffff:127.0.0.1]:" + port + "/image0.png",
                    "http://[::ffff:7f00:1]:" + port + "/image0.png", "http://[0:0:0:0:0:ffff:7f00:1]:" + port + "/image0.png",
                    "http://0.0.0.0:" + port + "/image0.png", "http://[::]:" + port + "/image0.png",
                    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/a.png", "http://172.16.5.4/a.png",
                    "http://192.168.1.1/a.png", "http://100.64.0.1/a.png", "http://[fe80::1]/a.png", "http://[fc00::1]/a.png",
                    "http://224.0.0.1/a.png", "http://255.255.255.255/a.png", "http://[ff02::1]/a.png",
                    "http://user:secret@127.0.0.1:" + port + "/image0.png", "https://127.0.0.1:" + port + "/image0.png");
            for (String url : urls) {
                HttpResponse<String> r = chatWithImage(server, url);
                assertEquals(400, r.statusCode(), url + ": " + r.body());
                JsonNode err = Wire.JSON.readTree(r.body()).get("error");
                assertEquals("image_fetch_failed", err.get("code").asText(), url);
                assertEquals(SAME, err.get("message").asText(), url);
            }
        }
        assertTrue(hits.isEmpty(), "the image host was contacted: " + hits);
    }

    @Test
    void everyRedirectIsCheckedToo() throws Exception {
        hits.clear();
        // This server trusts 127.0.0.1 (the image host) and nothing else that is not public.
        try (OpenAiServer server = server(a -> a.getHostAddress().equals("127.0.0.1") || new PublicAddresses().test(a))) {
            String base = "http://127.0.0.1:" + port;
            HttpResponse<String> direct = chatWithImage(server, base + "/image0.png");
            assertEquals(200, direct.statusCode(), direct.body());
            for (String path : List.of("/to-127.0.0.2", "/to-ipv6-loopback", "/to-decimal", "/to-file", "/to-metadata", "/loop")) {
                HttpResponse<String> r = chatWithImage(server, base + path);
                assertEquals(400, r.statusCode(), path + ": " + r.body());
                assertEquals(SAME, Wire.JSON.readTree(r.body()).get("error").get("message").asText(), path);
            }
        }
        assertEquals(1, hits.get("/image0.png").get(), "only the direct fetch reached the image: " + hits);
        assertTrue(hits.get("/loop").get() <= RemoteImages.MAX_REDIRECTS + 1, hits.toString());
    }

    @Test
    void theAddressTable() throws Exception {
        PublicAddresses p = new PublicAddresses();
        for (String a : List.of("8.8.8.8", "1.1.1.1", "93.184.216.34", "100.63.255.255", "100.128.0.0", "172.15.255.255",
                "172.32.0.0", "192.167.255.255", "198.17.255.255", "223.255.255.255", "2606:4700:4700::1111", "2a00:1450::1",
                "::ffff:8.8.8.8", "64:ff9b::808:808", "2002:808:808::1")) {
            assertTrue(p.test(InetAddress.getByName(a)), a + " is public");
        }
        for (String a : List.of("0.0.0.0", "0.1.2.3", "10.1.2.3", "127.0.0.1", "127.255.255.254", "100.64.0.0", "100.127.255.255",
                "169.254.169.254", "172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.0.1",
                "198.18.0.1", "198.19.255.255", "198.51.100.7", "203.0.113.9", "224.0.0.251", "239.255.255.250", "240.0.0.1",
                "255.255.255.255", "::", "::1", "::127.0.0.1", "::8.8.8.8", "::ffff:10.0.0.1", "::ffff:169.254.169.254",
                "64:ff9b::7f00:1", "64:ff9b:1::808:808", "2002:7f00:1::1", "2002:c0a8:101::1", "100::1", "2001::1", "2001:db8::1",
                "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1", "4000::1")) {
            assertFalse(p.test(InetAddress.getByName(a)), a + " is not public");
        }
        for (String h : List.of("example.com", "images.example.org", "a-b.c9", "8.8.8.8", "[2606:4700::1]", "xn--bcher-kva.example")) {
            assertTrue(PublicAddresses.acceptableHostSyntax(h), h);
        }
        for (String h : List.of("2130706433", "0x7f.1", "0x7f000001", "127.1", "0177.0.0.1", "127.000.000.001", "1.2.3.04",
                "example.123", "example.0x1f", "exa mple.com", "-bad.com", "bad-.com", "", "a..b")) {
            assertFalse(PublicAddresses.acceptableHostSyntax(h), h);
        }
    }
}
