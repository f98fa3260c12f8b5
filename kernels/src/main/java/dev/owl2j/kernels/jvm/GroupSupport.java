package dev.owl2j.kernels.jvm;

import dev.owl2j.kernels.DeviceException;

/** Run-time helpers the generated work-group code calls. */
final class GroupSupport {
    private GroupSupport() {}

    /**
     * The value every active work-item holds (a condition around a barrier, or where they leave a loop): OpenCL
     * requires the work-items of a group to agree there, so a disagreement is the kernel's error.
     */
    static int uniform(int[] values, boolean[] done, String kernel) {
        int first = -1;
        for (int i = 0; i < values.length; i++) {
            if (done[i]) continue;
            if (first < 0) first = i;
            else if (values[i] != values[first]) {
                throw new DeviceException("kernel " + kernel + ": the work-items of a group took different paths through control flow that"
                        + " contains a barrier (work-items " + first + " and " + i + "); every work-item must reach every barrier");
            }
        }
        return first < 0 ? 0 : values[first];
    }

    static boolean allDone(boolean[] done) {
        for (boolean d : done) if (!d) return false;
        return true;
    }
}
