package dev.owl2j.kernels.ops;

import dev.owl2j.kernels.lang.FloatArray;
import dev.owl2j.kernels.lang.IntArray;
import dev.owl2j.kernels.lang.KernelContext;

import static dev.owl2j.kernels.ops.Reductions.NEG_HUGE;
import static dev.owl2j.kernels.ops.Reductions.RED;

/** Scaled dot-product attention and rotary position embedding. */
public final class Attention {
    private Attention() {}

    /** Largest head dimension attention supports (the query is staged in local memory). */
    static final int MAX_HEAD_DIM = 256;
    private static final int PER_ITEM = MAX_HEAD_DIM / RED;

    /**
     * Attention with online softmax, one work group (RED) per (head, query row): launch global (heads * RED,
     * nQueries), local (RED, 1). Element d of head h in row t of Q is q[qOff + t*qRow + h*qHead + d] (same for k,
     * v, out), which covers the vision tower's head-interleaved fused QKV, the abstractor's plain split and the
     * decoder's KV cache. causal != 0: query row i sits at position params[pIdx] + i and sees keys 0 .. that
     * position; otherwise it sees all nKeys keys. Grouped-query: head h reads kv head h / (heads / kvHeads).
     * Each chunk of RED keys: every work-item scores one key, then all fold the chunk into the running max, sum
     * and their share of the output (dimensions lid, lid + RED, ...).
     */
    public static void attention(KernelContext ctx, FloatArray q, int qOff, int qRow, int qHead,
                                 FloatArray k, int kOff, int kRow, int kHead,
                                 FloatArray v, int vOff, int vRow, int vHead,
                                 FloatArray out, int oOff, int oRow, int oHead,
                                 int heads, int kvHeads, int headDim, float scale, int causal, int nKeys,
                                 IntArray params, int pIdx) {
        float[] qs = ctx.allocateFloatLocalArray(MAX_HEAD_DIM);
        float[] sc = ctx.allocateFloatLocalArray(RED);
        int h = ctx.groupIdx, i = ctx.groupIdy, lid = ctx.localIdx;
        int kvh = h / (heads / kvHeads);
        int visible = causal != 0 ? params.get(pIdx) + i + 1 : nKeys;
        int qp = qOff + i * qRow + h * qHead;
        for (int d = lid; d < headDim; d += RED) qs[d] = q.get(qp + d);
        ctx.localBarrier();
        int kb = kOff + kvh * kHead;
        int vb = vOff + kvh * vHead;
        float m = NEG_HUGE, l = 0.0f;
        float[] acc = new float[PER_ITEM];
        for (int a = 0; a < PER_ITEM; a++) acc[a] = 0.0f;
        for (int j0 = 0; j0 < visible; j0 += RED) {
            int j = j0 + lid;
            float s = NEG_HUGE;
            if (j < visible) {
                int kp = kb + j * kRow;
                float dot = 0.0f;
                for (int d = 0; d < headDim; d++) dot += qs[d] * k.get(kp + d);
                s = dot * scale;
            }
            sc[lid] = s;
            ctx.localBarrier();
            int cn = Math.min(RED, visible - j0);
            float cmax = m;
            for (int jj = 0; jj < cn; jj++) cmax = Math.max(cmax, sc[jj]);
            float corr = (float) Math.exp(m - cmax);
            l *= corr;
            for (int a = 0; a < PER_ITEM; a++) acc[a] *= corr;
            for (int jj = 0; jj < cn; jj++) {
                float p = (float) Math.exp(sc[jj] - cmax);
                l += p;
                int vp = vb + (j0 + jj) * vRow;
                for (int a = 0; a < PER_ITEM; a++) {
                    int d = lid + a * RED;
                    if (d < headDim) acc[a] += p * v.get(vp + d);
                }
            }
            m = cmax;
            ctx.localBarrier();
        }
        int op = oOff + i * oRow + h * oHead;
        float inv = 1.0f / l;
        for (int a = 0; a < PER_ITEM; a++) {
            int d = lid + a * RED;
            if (d < headDim) out.set(op + d, acc[a] * inv);
        }
    }

    /**
     * Rotate-half RoPE (LLaMA / GPT-NeoX) in place on rows t of x: head h at x[xOff + t*rowStride + h*headDim],
     * position params[pIdx] + t, cos/sin tables [positions, headDim/2] from the host (computed in double).
     * Launch: global (n * heads * headDim/2) rounded up.
     */
    public static void rope(KernelContext ctx, FloatArray x, int xOff, int rowStride, int heads, int headDim,
                            FloatArray cosT, FloatArray sinT, IntArray params, int pIdx, int n) {
        int half = headDim / 2;
        int id = ctx.globalIdx;
        if (id >= n * heads * half) return;
        int i = id % half;
        int h = id / half % heads;
        int t = id / (half * heads);
        int pos = params.get(pIdx) + t;
        int p = xOff + t * rowStride + h * headDim;
        float c = cosT.get(pos * half + i);
        float s = sinT.get(pos * half + i);
        float x0 = x.get(p + i), x1 = x.get(p + i + half);
        x.set(p + i, x0 * c - x1 * s);
        x.set(p + i + half, x1 * c + x0 * s);
    }
}
