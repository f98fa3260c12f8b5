package dev.owl2j.kernels;

import dev.owl2j.kernels.lang.KernelContext;
import org.junit.jupiter.api.Test;

import static dev.owl2j.kernels.Launch.Access.in;
import static dev.owl2j.kernels.Launch.Access.inOut;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Task graphs that name Java kernels directly (a method reference or class and name), replayed by the plan. */
class JavaTaskGraphTest {
    static void replay(ComputeContext ctx) {
        int n = 100;
        float[] host = new float[n];
        float[] result = new float[n];
        try (Buffer x = ctx.allocate(n * 4L); Buffer y = ctx.allocate(n * 4L)) {
            TaskGraph g = new TaskGraph("java-tasks")
                    .transferToDevice(TaskGraph.Mode.EVERY_EXECUTION, x, host)
                    .resident(y)
                    .task("scale", KernelRef.of(GraphKernels::scale), new long[]{128}, new long[]{64}, new KernelContext(), inOut(x), 3f, n)
                    .task("acc", KernelRef.of(GraphKernels.class, "accumulate"), new long[]{128}, new long[]{64}, inOut(y), in(x), n)
                    .transferToHost(y, result);
            float[] expected = new float[n];
            try (ExecutionPlan plan = g.plan(ctx)) {
                for (int run = 0; run < 3; run++) {
                    for (int i = 0; i < n; i++) {
                        host[i] = i * 0.5f + run;
                        expected[i] += host[i] * 3f;
                    }
                    plan.run();
                    assertArrayEquals(expected, result, 0f, "run " + run);
                }
                assertEquals(3, plan.runs());
            }
        }
    }

    @Test
    void methodReferencesInATaskGraphOnTheJvm() {
        replay(Jvm.context());
    }

    @Test
    void methodReferencesInATaskGraphOnOpenCl() {
        replay(Pocl.context());
    }

    @Test
    void aLambdaIsNotAKernel() {
        DeviceException e = assertThrows(DeviceException.class, () -> KernelRef.of((KernelContext c, Integer v) -> { }));
        assertTrue(e.getMessage().contains("not a lambda"), e.getMessage());
    }
}
