package dev.owl2j.runtime.server;

/**
 * An error answered to the client as {@code {"error":{"message","type","param","code"}}} with an HTTP status;
 * {@code param} names the request field at fault, when there is one.
 */
public final class ApiException extends RuntimeException {
    private final int status;
    private final String type;
    private final String code;
    private final String param;

    public ApiException(int status, String type, String code, String message) {
        this(status, type, code, null, message);
    }

    public ApiException(int status, String type, String code, String param, String message) {
        super(oneLine(message), null, false, false);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
    }

    /**
     * The message with control characters escaped ({@code \x0a}): messages quote what clients sent (field names,
     * schema keys, header values), and an error must stay one line whatever that held.
     */
    static String oneLine(String message) {
        if (message == null) return "error";
        StringBuilder b = null;
        for (int i = 0; i < message.length(); i++) {
            char c = message.charAt(i);
            boolean control = c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == '\u2028' || c == '\u2029';
            if (control && b == null) b = new StringBuilder(message.substring(0, i));
            if (b != null) {
                if (control) b.append(String.format("\\x%02x", (int) c));
                else b.append(c);
            }
        }
        return b == null ? message : b.toString();
    }

    public static ApiException badRequest(String code, String message) {
        return new ApiException(400, "invalid_request_error", code, message);
    }

    /** A 400 about one request field. */
    public static ApiException badField(String param, String code, String message) {
        return new ApiException(400, "invalid_request_error", code, param, message);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String code() {
        return code;
    }

    public String param() {
        return param;
    }
}
