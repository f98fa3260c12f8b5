package dev.owl2j.kernels;

/** A kernel source failed to compile; {@link #log()} is the compiler's build log. */
public final class KernelBuildException extends DeviceException {
    private final String log;

    public KernelBuildException(String programName, String device, String log) {
        super("kernel program '" + programName + "' failed to build for " + device + ":\n" + log);
        this.log = log;
    }

    public String log() {
        return log;
    }
}
