package dev.owl2j.kernels.lang;

/**
 * What a kernel knows about the work-item running it, with the field and method names of TornadoVM's
 * KernelContext, so a kernel written against that API ports by changing its imports. On a device the compiler
 * turns every field into the target's work-item query ({@code get_global_id(0)}, {@code blockIdx.x * blockDim.x +
 * threadIdx.x}, ...), {@link #localBarrier()} into a work-group barrier and {@code allocate*LocalArray(n)} into a
 * work-group shared array of the constant length n. On the JVM backend each work-item gets its own context (a
 * subclass whose barrier really waits for the rest of the group).
 *
 * <p>A context made with the public constructor describes the single work-item 0 of a 1×1 grid: calling a
 * kernel directly with it runs that one work-item as plain Java (barriers are no-ops, local arrays are fresh).
 */
public class KernelContext {
    public final int globalIdx, globalIdy, globalIdz;
    public final int localIdx, localIdy, localIdz;
    public final int groupIdx, groupIdy, groupIdz;
    /** Work-items in the whole launch along each dimension (OpenCL get_global_size). */
    public final int globalGroupSizeX, globalGroupSizeY, globalGroupSizeZ;
    /** Work-items in one work group along each dimension (OpenCL get_local_size). */
    public final int localGroupSizeX, localGroupSizeY, localGroupSizeZ;

    /** The context a task graph is given as the kernel's first argument (its values are set per work-item). */
    public KernelContext() {
        this(new int[3], new int[]{1, 1, 1}, new int[3], new int[]{1, 1, 1});
    }

    /**
     * A context for one work-item: local id and group id per dimension, the group size and the number of
     * groups (all arrays of length 3). For backends that run kernels as Java.
     */
    protected KernelContext(int[] local, int[] groupSize, int[] group, int[] groups) {
        localIdx = local[0];
        localIdy = local[1];
        localIdz = local[2];
        groupIdx = group[0];
        groupIdy = group[1];
        groupIdz = group[2];
        localGroupSizeX = groupSize[0];
        localGroupSizeY = groupSize[1];
        localGroupSizeZ = groupSize[2];
        globalGroupSizeX = groupSize[0] * groups[0];
        globalGroupSizeY = groupSize[1] * groups[1];
        globalGroupSizeZ = groupSize[2] * groups[2];
        globalIdx = group[0] * groupSize[0] + local[0];
        globalIdy = group[1] * groupSize[1] + local[1];
        globalIdz = group[2] * groupSize[2] + local[2];
    }

    /** Waits until every work-item of the group has reached this barrier; local-memory writes before it are visible after it. */
    public void localBarrier() {
    }

    /** As {@link #localBarrier()}, also ordering global-memory writes within the group. */
    public void globalBarrier() {
    }

    /** An array in work-group shared memory; size must be a compile-time constant. Contents start undefined. */
    public float[] allocateFloatLocalArray(int size) {
        return new float[size];
    }

    public int[] allocateIntLocalArray(int size) {
        return new int[size];
    }

    public double[] allocateDoubleLocalArray(int size) {
        return new double[size];
    }

    public long[] allocateLongLocalArray(int size) {
        return new long[size];
    }
}
