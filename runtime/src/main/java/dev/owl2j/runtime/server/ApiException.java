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
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
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
