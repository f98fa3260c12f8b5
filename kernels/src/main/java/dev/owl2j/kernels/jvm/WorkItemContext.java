package dev.owl2j.kernels.jvm;

import dev.owl2j.kernels.lang.KernelContext;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Phaser;
import java.util.function.Supplier;

/** The KernelContext of one work-item on the JVM: ids, and barriers and local arrays shared with its group. */
final class WorkItemContext extends KernelContext {
    /** Thrown in the other work-items of a group when one failed, to stop them. */
    static final class GroupAborted extends RuntimeException {
        GroupAborted() {
            super(null, null, false, false);
        }
    }

    /** What the work-items of one group share. */
    static final class Group {
        private final List<Object> locals = new ArrayList<>();
        /** Null when the group's work-items run one after another (kernels without barriers). */
        final Phaser phaser;

        Group(Phaser phaser) {
            this.phaser = phaser;
        }

        void barrier() {
            if (phaser == null) throw new IllegalStateException("barrier in a kernel run without work-item threads");
            if (phaser.arriveAndAwaitAdvance() < 0) throw new GroupAborted();
        }

        /** The k-th local array of the group: every work-item's k-th allocation returns the same array. */
        synchronized Object local(int k, Supplier<Object> make, int length, Class<?> type) {
            while (locals.size() <= k) locals.add(null);
            Object a = locals.get(k);
            if (a == null) {
                a = make.get();
                locals.set(k, a);
            } else if (a.getClass() != type || java.lang.reflect.Array.getLength(a) != length) {
                throw new IllegalStateException("work-items of one group allocated different local arrays (call " + k + ")");
            }
            return a;
        }
    }

    private final Group group;
    private int allocations;

    WorkItemContext(int[] local, int[] groupSize, int[] groupId, int[] groups, Group group) {
        super(local, groupSize, groupId, groups);
        this.group = group;
    }

    @Override
    public void localBarrier() {
        group.barrier();
    }

    @Override
    public void globalBarrier() {
        group.barrier();
    }

    @Override
    public float[] allocateFloatLocalArray(int size) {
        return (float[]) group.local(allocations++, () -> new float[size], size, float[].class);
    }

    @Override
    public int[] allocateIntLocalArray(int size) {
        return (int[]) group.local(allocations++, () -> new int[size], size, int[].class);
    }

    @Override
    public double[] allocateDoubleLocalArray(int size) {
        return (double[]) group.local(allocations++, () -> new double[size], size, double[].class);
    }

    @Override
    public long[] allocateLongLocalArray(int size) {
        return (long[]) group.local(allocations++, () -> new long[size], size, long[].class);
    }
}
