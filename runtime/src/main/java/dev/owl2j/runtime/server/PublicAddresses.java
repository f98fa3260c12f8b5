package dev.owl2j.runtime.server;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * Which addresses a remote image may come from: only globally reachable unicast ones. Refused are loopback,
 * unspecified, private (RFC 1918, IPv6 unique local), shared (carrier-grade NAT), link-local, multicast,
 * broadcast, reserved, documentation and benchmarking ranges, and IPv6 forms that embed an IPv4 address (mapped,
 * compatible, NAT64, 6to4), which are judged by that IPv4 address. Otherwise the server could be made to fetch
 * from itself, its network or the cloud metadata service (169.254.169.254) on a client's behalf.
 */
final class PublicAddresses implements Predicate<InetAddress> {
    /** Canonical dotted-quad IPv4: four decimal parts 0-255 without leading zeros. */
    private static final Pattern DOTTED_QUAD = Pattern.compile(
            "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");
    private static final Pattern DNS_NAME = Pattern.compile("(?i)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*\\.?");

    @Override
    public boolean test(InetAddress a) {
        if (a instanceof Inet4Address v4) return isPublic(v4.getAddress());
        if (a instanceof Inet6Address v6) return isPublic6(v6.getAddress());
        return false;
    }

    /**
     * True for a host name the URL may carry: a DNS name, a canonical dotted quad or a bracketed IPv6 literal.
     * Decimal ({@code 2130706433}), octal ({@code 0177.1}), hex ({@code 0x7f.1}) and shortened ({@code 127.1})
     * IPv4 forms are refused outright, because libraries and resolvers read them differently.
     */
    static boolean acceptableHostSyntax(String host) {
        if (host == null || host.isEmpty() || host.length() > 253) return false;
        if (host.startsWith("[")) return host.endsWith("]") && host.indexOf(':') > 0;
        if (DOTTED_QUAD.matcher(host).matches()) return true;
        if (!DNS_NAME.matcher(host).matches()) return false;
        // As the WHATWG URL rules: a host whose last label is a number (decimal, or hex after 0x) is an IPv4
        // address in some numeric form ("2130706433", "0x7f.1", "127.1", "0177.0.0.1"), never a DNS name.
        String last = host.endsWith(".") ? host.substring(0, host.length() - 1) : host;
        last = last.substring(last.lastIndexOf('.') + 1);
        return !last.matches("(?i)[0-9]+|0x[0-9a-f]*");
    }

    /** The address of an IP literal host, or null for a name (which a resolver must look up). */
    static InetAddress literal(String host) throws UnknownHostException {
        if (host.startsWith("[")) return InetAddress.getByName(host.substring(1, host.length() - 1));
        if (DOTTED_QUAD.matcher(host).matches()) return InetAddress.getByName(host);
        return null;
    }

    static boolean isPublic(byte[] v4) {
        int a = v4[0] & 0xff, b = v4[1] & 0xff, c = v4[2] & 0xff;
        if (a == 0 || a == 10 || a == 127) return false;              // this network, private, loopback
        if (a == 100 && (b & 0xc0) == 64) return false;               // 100.64/10 shared address space
        if (a == 169 && b == 254) return false;                        // link-local (cloud metadata)
        if (a == 172 && (b & 0xf0) == 16) return false;                // 172.16/12 private
        if (a == 192 && b == 0 && (c == 0 || c == 2)) return false;    // IETF assignments, TEST-NET-1
        if (a == 192 && b == 88 && c == 99) return false;              // 6to4 relay anycast
        if (a == 192 && b == 168) return false;                        // private
        if (a == 198 && (b & 0xfe) == 18) return false;                // 198.18/15 benchmarking
        if (a == 198 && b == 51 && c == 100) return false;             // TEST-NET-2
        if (a == 203 && b == 0 && c == 113) return false;              // TEST-NET-3
        return a < 224;                                                // multicast 224/4, reserved 240/4, broadcast
    }

    static boolean isPublic6(byte[] v6) {
        boolean zero10 = true;
        for (int i = 0; i < 10; i++) zero10 &= v6[i] == 0;
        if (zero10 && ((v6[10] == 0 && v6[11] == 0) || (v6[10] == (byte) 0xff && v6[11] == (byte) 0xff))) {
            // ::/96 (unspecified, loopback, IPv4-compatible) and ::ffff:0:0/96 (IPv4-mapped): judge the IPv4 part,
            // except that the compatible form is deprecated and refused whatever it holds.
            return v6[10] == (byte) 0xff && isPublic(new byte[]{v6[12], v6[13], v6[14], v6[15]});
        }
        int w0 = ((v6[0] & 0xff) << 8) | (v6[1] & 0xff);
        int w1 = ((v6[2] & 0xff) << 8) | (v6[3] & 0xff);
        if (w0 == 0x0064 && w1 == 0xff9b) {
            boolean wellKnown = true;                                  // 64:ff9b::/96 NAT64 of an IPv4 address
            for (int i = 4; i < 12; i++) wellKnown &= v6[i] == 0;
            return wellKnown && isPublic(new byte[]{v6[12], v6[13], v6[14], v6[15]});
        }
        if (w0 == 0x2002) return isPublic(new byte[]{v6[2], v6[3], v6[4], v6[5]}); // 6to4 of an IPv4 address
        if (w0 == 0x0100 && w1 == 0 && v6[4] == 0 && v6[5] == 0 && v6[6] == 0 && v6[7] == 0) return false; // discard
        if (w0 == 0x2001 && w1 < 0x0200) return false;                // 2001::/23: Teredo, benchmarking, ORCHID
        if (w0 == 0x2001 && w1 == 0x0db8) return false;               // documentation
        if ((w0 & 0xfe00) == 0xfc00) return false;                    // fc00::/7 unique local
        if ((w0 & 0xffc0) == 0xfe80 || (w0 & 0xffc0) == 0xfec0) return false; // link-local, old site-local
        if ((w0 & 0xff00) == 0xff00) return false;                    // multicast
        return (w0 & 0xe000) == 0x2000;                               // 2000::/3 is the global unicast space
    }
}
