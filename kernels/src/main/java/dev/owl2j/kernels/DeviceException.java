package dev.owl2j.kernels;

/**
 * A device, driver or kernel-build failure. Build failures carry the compiler log in the message. The kernels
 * module knows nothing of the application's exception types; callers wrap this where it is a user error.
 */
public class DeviceException extends RuntimeException {
    public DeviceException(String message) {
        super(message);
    }

    public DeviceException(String message, Throwable cause) {
        super(message, cause);
    }
}
