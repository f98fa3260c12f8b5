/*
 * Transformer kernels for OpenCL C 1.2 and CUDA (through portable.h). Activations are float32 everywhere;
 * weights stay as stored (F32, F16, BF16) or llama.cpp block-32 quantized (Q8_0: f16 scale + 32 int8 = 34 bytes;
 * Q4_0: f16 scale + 16 bytes, low nibbles = elements 0..15, value = nibble - 8). Matrices are row-major
 * [rows, cols] with y = W.x (PyTorch's [out, in]). Buffer positions are passed as element offsets because
 * OpenCL cannot offset a buffer handle on the host. Work-group sizes are fixed by the launchers in Java:
 * RED (64) threads for row reductions, 16x16 tiles for matmul.
 */
#define RED 64
#define TILE 16
#define MAX_HEAD_DIM 256

/* Sum of v over the RED threads of the group; every thread gets the result. */
DEVFN float group_sum(LOCAL_PTR float* scratch, float v, int lid) {
    scratch[lid] = v;
    BARRIER();
    for (int s = RED / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        BARRIER();
    }
    float r = scratch[0];
    BARRIER();
    return r;
}

DEVFN float group_max(LOCAL_PTR float* scratch, float v, int lid) {
    scratch[lid] = v;
    BARRIER();
    for (int s = RED / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] = FMAXF(scratch[lid], scratch[lid + s]);
        BARRIER();
    }
    float r = scratch[0];
    BARRIER();
    return r;
}

/* ---- one thread's share of the dot product of weight row r with x (strided over the group) ---- */

DEVFN float rowdot_f32(const GLOBAL uchar* w, int r, int cols, const GLOBAL float* x, int lid) {
    const GLOBAL float* wr = ((const GLOBAL float*) w) + (size_t) r * cols;
    float s = 0.0f;
    for (int c = lid; c < cols; c += RED) s += wr[c] * x[c];
    return s;
}

DEVFN float rowdot_f16(const GLOBAL uchar* w, int r, int cols, const GLOBAL float* x, int lid) {
    const GLOBAL ushort* wr = ((const GLOBAL ushort*) w) + (size_t) r * cols;
    float s = 0.0f;
    for (int c = lid; c < cols; c += RED) s += half_at(wr, c) * x[c];
    return s;
}

DEVFN float rowdot_bf16(const GLOBAL uchar* w, int r, int cols, const GLOBAL float* x, int lid) {
    const GLOBAL ushort* wr = ((const GLOBAL ushort*) w) + (size_t) r * cols;
    float s = 0.0f;
    for (int c = lid; c < cols; c += RED) s += bf16_at(wr, c) * x[c];
    return s;
}

DEVFN float rowdot_q8_0(const GLOBAL uchar* w, int r, int cols, const GLOBAL float* x, int lid) {
    int nb = cols / 32;
    const GLOBAL uchar* row = w + (size_t) r * nb * 34;
    float s = 0.0f;
    for (int b = lid; b < nb; b += RED) {
        const GLOBAL uchar* blk = row + b * 34;
        float d = half_at((const GLOBAL ushort*) blk, 0);
        const GLOBAL schar* q = (const GLOBAL schar*) (blk + 2);
        const GLOBAL float* xb = x + b * 32;
        float a = 0.0f;
        for (int j = 0; j < 32; j++) a += (float) q[j] * xb[j];
        s += d * a;
    }
    return s;
}

DEVFN float rowdot_q4_0(const GLOBAL uchar* w, int r, int cols, const GLOBAL float* x, int lid) {
    int nb = cols / 32;
    const GLOBAL uchar* row = w + (size_t) r * nb * 18;
    float s = 0.0f;
    for (int b = lid; b < nb; b += RED) {
        const GLOBAL uchar* blk = row + b * 18;
        float d = half_at((const GLOBAL ushort*) blk, 0);
        const GLOBAL uchar* q = blk + 2;
        const GLOBAL float* xb = x + b * 32;
        float a = 0.0f;
        for (int j = 0; j < 16; j++) {
            int v = q[j];
            a += (float) ((v & 15) - 8) * xb[j] + (float) ((v >> 4) - 8) * xb[j + 16];
        }
        s += d * a;
    }
    return s;
}

/*
 * linear_T: y[t, r] = W[r, :] . x[t, :] for n tokens. Launch: global (rows*RED, n), local (RED, 1).
 * linear_select_T: the same with W = modality[mOff + t] ? w1 : w0 (mPLUG-Owl2's modality-adaptive k/v).
 */
#define DEFINE_LINEAR(T) \
KERNEL void linear_##T(const GLOBAL uchar* w, const GLOBAL float* x, int xOff, int xStride, \
                       GLOBAL float* y, int yOff, int yStride, int rows, int cols) { \
    LOCAL_MEM float scratch[RED]; \
    int r = GROUP0, t = GROUP1, lid = LID0; \
    float s = group_sum(scratch, rowdot_##T(w, r, cols, x + xOff + (size_t) t * xStride, lid), lid); \
    if (lid == 0) y[yOff + (size_t) t * yStride + r] = s; \
} \
KERNEL void linear_select_##T(const GLOBAL uchar* w0, const GLOBAL uchar* w1, const GLOBAL int* modality, int mOff, \
                              const GLOBAL float* x, int xOff, int xStride, \
                              GLOBAL float* y, int yOff, int yStride, int rows, int cols) { \
    LOCAL_MEM float scratch[RED]; \
    int r = GROUP0, t = GROUP1, lid = LID0; \
    const GLOBAL uchar* w = modality[mOff + t] != 0 ? w1 : w0; \
    float s = group_sum(scratch, rowdot_##T(w, r, cols, x + xOff + (size_t) t * xStride, lid), lid); \
    if (lid == 0) y[yOff + (size_t) t * yStride + r] = s; \
}

DEFINE_LINEAR(f32)
DEFINE_LINEAR(f16)
DEFINE_LINEAR(bf16)
DEFINE_LINEAR(q8_0)
DEFINE_LINEAR(q4_0)

/* ---- tiled matmul for many tokens (prefill, vision): y[t, r] = W[r, :] . x[t, :] ---- */

DEVFN float wload_f32(const GLOBAL uchar* w, size_t i) { return ((const GLOBAL float*) w)[i]; }
DEVFN float wload_f16(const GLOBAL uchar* w, size_t i) { return half_at((const GLOBAL ushort*) w, (int) i); }
DEVFN float wload_bf16(const GLOBAL uchar* w, size_t i) { return bf16_at((const GLOBAL ushort*) w, (int) i); }

/* Launch: global (ceil(rows/16)*16, ceil(n/16)*16), local (16, 16). Dimension 0 = output feature r, 1 = token t. */
#define DEFINE_MATMUL(T) \
KERNEL void matmul_##T(const GLOBAL uchar* w, const GLOBAL float* x, int xOff, int xStride, \
                       GLOBAL float* y, int yOff, int yStride, int rows, int cols, int n) { \
    LOCAL_MEM float ws[TILE][TILE + 1]; \
    LOCAL_MEM float xs[TILE][TILE + 1]; \
    int lr = LID0, lt = LID1; \
    int r0 = GROUP0 * TILE, t0 = GROUP1 * TILE; \
    float acc = 0.0f; \
    for (int c0 = 0; c0 < cols; c0 += TILE) { \
        /* thread (lr, lt) loads W[r0 + lt, c0 + lr] and x[t0 + lt, c0 + lr] (coalesced along c) */ \
        int c = c0 + lr; \
        ws[lt][lr] = (r0 + lt < rows && c < cols) ? wload_##T(w, (size_t) (r0 + lt) * cols + c) : 0.0f; \
        xs[lt][lr] = (t0 + lt < n && c < cols) ? x[xOff + (size_t) (t0 + lt) * xStride + c] : 0.0f; \
        BARRIER(); \
        for (int k = 0; k < TILE; k++) acc += ws[lr][k] * xs[lt][k]; \
        BARRIER(); \
    } \
    if (r0 + lr < rows && t0 + lt < n) y[yOff + (size_t) (t0 + lt) * yStride + r0 + lr] = acc; \
}

DEFINE_MATMUL(f32)
DEFINE_MATMUL(f16)
DEFINE_MATMUL(bf16)

/* ---- row-wise norms; launch global (rows*RED), local (RED); row = group ---- */

/* RMSNorm (LLaMA): out = x / sqrt(mean(x^2) + eps) * w. */
KERNEL void rmsnorm(const GLOBAL float* x, int xOff, GLOBAL float* out, int outOff, const GLOBAL float* w,
                    int n, float eps) {
    LOCAL_MEM float scratch[RED];
    int row = GROUP0, lid = LID0;
    const GLOBAL float* xr = x + xOff + (size_t) row * n;
    GLOBAL float* o = out + outOff + (size_t) row * n;
    float sq = 0.0f;
    for (int i = lid; i < n; i += RED) sq += xr[i] * xr[i];
    float inv = 1.0f / SQRTF(group_sum(scratch, sq, lid) / n + eps);
    for (int i = lid; i < n; i += RED) o[i] = xr[i] * inv * w[i];
}

/* RMSNorm with the weight chosen per row by modality[mOff + row] (0: w0, else w1). */
KERNEL void rmsnorm_select(const GLOBAL float* x, int xOff, GLOBAL float* out, int outOff,
                           const GLOBAL float* w0, const GLOBAL float* w1, const GLOBAL int* modality, int mOff,
                           int n, float eps) {
    LOCAL_MEM float scratch[RED];
    int row = GROUP0, lid = LID0;
    const GLOBAL float* w = modality[mOff + row] != 0 ? w1 : w0;
    const GLOBAL float* xr = x + xOff + (size_t) row * n;
    GLOBAL float* o = out + outOff + (size_t) row * n;
    float sq = 0.0f;
    for (int i = lid; i < n; i += RED) sq += xr[i] * xr[i];
    float inv = 1.0f / SQRTF(group_sum(scratch, sq, lid) / n + eps);
    for (int i = lid; i < n; i += RED) o[i] = xr[i] * inv * w[i];
}

/* LayerNorm (PyTorch, biased variance, two passes): out = (x - mean) / sqrt(var + eps) * w + b. out may be x. */
KERNEL void layernorm(const GLOBAL float* x, int xOff, GLOBAL float* out, int outOff, const GLOBAL float* w,
                      const GLOBAL float* b, int n, float eps) {
    LOCAL_MEM float scratch[RED];
    int row = GROUP0, lid = LID0;
    const GLOBAL float* xr = x + xOff + (size_t) row * n;
    GLOBAL float* o = out + outOff + (size_t) row * n;
    float s = 0.0f;
    for (int i = lid; i < n; i += RED) s += xr[i];
    float mean = group_sum(scratch, s, lid) / n;
    float sq = 0.0f;
    for (int i = lid; i < n; i += RED) {
        float d = xr[i] - mean;
        sq += d * d;
    }
    float inv = 1.0f / SQRTF(group_sum(scratch, sq, lid) / n + eps);
    for (int i = lid; i < n; i += RED) o[i] = (xr[i] - mean) * inv * w[i] + b[i];
}

/* In-place softmax of each row of x [rows, n]. */
KERNEL void softmax(GLOBAL float* x, int xOff, int n) {
    LOCAL_MEM float scratch[RED];
    int row = GROUP0, lid = LID0;
    GLOBAL float* xr = x + xOff + (size_t) row * n;
    float m = NEG_HUGE;
    for (int i = lid; i < n; i += RED) m = FMAXF(m, xr[i]);
    m = group_max(scratch, m, lid);
    float s = 0.0f;
    for (int i = lid; i < n; i += RED) {
        float e = EXPF(xr[i] - m);
        xr[i] = e;
        s += e;
    }
    float inv = 1.0f / group_sum(scratch, s, lid);
    for (int i = lid; i < n; i += RED) xr[i] *= inv;
}

/*
 * Rotate-half RoPE (LLaMA / GPT-NeoX) in place on rows t of x: head h at x[xOff + t*rowStride + h*headDim].
 * Position = params[pIdx] + t; cos/sin tables [positions, headDim/2] come from the host (computed in double).
 * Launch: global (n * heads * headDim/2).
 */
KERNEL void rope(GLOBAL float* x, int xOff, int rowStride, int heads, int headDim, const GLOBAL float* cosT,
                 const GLOBAL float* sinT, const GLOBAL int* params, int pIdx, int n) {
    int half_ = headDim / 2;
    int id = GID0;
    if (id >= n * heads * half_) return;
    int i = id % half_;
    int h = (id / half_) % heads;
    int t = id / (half_ * heads);
    int pos = params[pIdx] + t;
    GLOBAL float* p = x + xOff + (size_t) t * rowStride + h * headDim;
    float c = cosT[(size_t) pos * half_ + i];
    float s = sinT[(size_t) pos * half_ + i];
    float x0 = p[i], x1 = p[i + half_];
    p[i] = x0 * c - x1 * s;
    p[i + half_] = x1 * c + x0 * s;
}

/*
 * Scaled dot-product attention with online softmax, one work group (RED threads) per (head, query row).
 * Element d of head h in row t of Q is q[qOff + t*qRow + h*qHead + d] (same for k, v, out), which covers the
 * vision tower's head-interleaved fused qkv, the abstractor's plain split and the decoder's KV cache.
 * causal != 0: query row i sits at position params[pIdx] + i and sees keys 0 .. that position; otherwise it
 * sees all nKeys keys. Grouped-query: head h reads kv head h / (heads / kvHeads). headDim <= MAX_HEAD_DIM.
 * Launch: global (heads*RED, nQueries), local (RED, 1).
 */
KERNEL void attention(const GLOBAL float* q, int qOff, int qRow, int qHead,
                      const GLOBAL float* k, int kOff, int kRow, int kHead,
                      const GLOBAL float* v, int vOff, int vRow, int vHead,
                      GLOBAL float* out, int oOff, int oRow, int oHead,
                      int heads, int kvHeads, int headDim, float scale, int causal, int nKeys,
                      const GLOBAL int* params, int pIdx) {
    LOCAL_MEM float qs[MAX_HEAD_DIM];
    LOCAL_MEM float sc[RED];
    int h = GROUP0, i = GROUP1, lid = LID0;
    int kvh = h / (heads / kvHeads);
    int visible = causal != 0 ? params[pIdx] + i + 1 : nKeys;
    const GLOBAL float* qp = q + qOff + (size_t) i * qRow + h * qHead;
    for (int d = lid; d < headDim; d += RED) qs[d] = qp[d];
    BARRIER();
    const GLOBAL float* kb = k + kOff + kvh * kHead;
    const GLOBAL float* vb = v + vOff + kvh * vHead;
    float m = NEG_HUGE, l = 0.0f;
    float acc[MAX_HEAD_DIM / RED];
    for (int a = 0; a < MAX_HEAD_DIM / RED; a++) acc[a] = 0.0f;
    for (int j0 = 0; j0 < visible; j0 += RED) {
        int j = j0 + lid;
        float s = NEG_HUGE;
        if (j < visible) {
            const GLOBAL float* kp = kb + (size_t) j * kRow;
            float dot = 0.0f;
            for (int d = 0; d < headDim; d++) dot += qs[d] * kp[d];
            s = dot * scale;
        }
        sc[lid] = s;
        BARRIER();
        int cn = imin(RED, visible - j0);
        float cmax = m;
        for (int jj = 0; jj < cn; jj++) cmax = FMAXF(cmax, sc[jj]);
        float corr = EXPF(m - cmax);
        l *= corr;
        for (int a = 0; a < MAX_HEAD_DIM / RED; a++) acc[a] *= corr;
        for (int jj = 0; jj < cn; jj++) {
            float p = EXPF(sc[jj] - cmax);
            l += p;
            const GLOBAL float* vp = vb + (size_t) (j0 + jj) * vRow;
            for (int a = 0; a < MAX_HEAD_DIM / RED; a++) {
                int d = lid + a * RED;
                if (d < headDim) acc[a] += p * vp[d];
            }
        }
        m = cmax;
        BARRIER();
    }
    GLOBAL float* op = out + oOff + (size_t) i * oRow + h * oHead;
    float inv = 1.0f / l;
    for (int a = 0; a < MAX_HEAD_DIM / RED; a++) {
        int d = lid + a * RED;
        if (d < headDim) op[d] = acc[a] * inv;
    }
}

/* ---- element-wise; launch global (n) rounded up to the local size ---- */

/* gate = SiLU(gate) * up (LLaMA MLP, abstractor SwiGLU). */
KERNEL void silu_mul(GLOBAL float* gate, const GLOBAL float* up, int n) {
    int i = GID0;
    if (i < n) {
        float g = gate[i];
        gate[i] = g / (1.0f + EXPF(-g)) * up[i];
    }
}

/* CLIP QuickGELU x * sigmoid(1.702 x), in place. */
KERNEL void quick_gelu(GLOBAL float* x, int n) {
    int i = GID0;
    if (i < n) {
        float v = x[i];
        x[i] = v / (1.0f + EXPF(-1.702f * v));
    }
}

/* y[yOff + i] += x[xOff + i]. */
KERNEL void add(GLOBAL float* y, int yOff, const GLOBAL float* x, int xOff, int n) {
    int i = GID0;
    if (i < n) y[yOff + i] += x[xOff + i];
}

/* y[yOff + r*cols + c] += b[c] for rows x cols. */
KERNEL void bias_add(GLOBAL float* y, int yOff, const GLOBAL float* b, int rows, int cols) {
    int i = GID0;
    if (i < rows * cols) y[yOff + i] += b[i % cols];
}

/* x[i] *= s. */
KERNEL void scale(GLOBAL float* x, int xOff, float s, int n) {
    int i = GID0;
    if (i < n) x[xOff + i] *= s;
}

/* dst[dstOff + i] = src[srcOff + i]. */
KERNEL void copy(GLOBAL float* dst, int dstOff, const GLOBAL float* src, int srcOff, int n) {
    int i = GID0;
    if (i < n) dst[dstOff + i] = src[srcOff + i];
}

/* Appends n rows of width rowLen at row params[pIdx] of dst (KV-cache write at the current position). */
KERNEL void copy_rows_at(GLOBAL float* dst, const GLOBAL float* src, int srcOff, int rowLen, int n,
                         const GLOBAL int* params, int pIdx) {
    int i = GID0;
    if (i < n * rowLen) dst[(size_t) params[pIdx] * rowLen + i] = src[srcOff + i];
}

/*
 * Embedding lookup: out[t, :] = table[ids[idsOff + t], :] for n rows of width cols. Negative ids are skipped
 * (their rows are filled otherwise, e.g. with visual tokens). Launch: global (cols, n).
 */
#define DEFINE_GATHER(T, LOAD) \
KERNEL void gather_rows_##T(const GLOBAL uchar* table, const GLOBAL int* ids, int idsOff, GLOBAL float* out, \
                            int cols, int n) { \
    int c = GID0, t = GID1; \
    if (c >= cols || t >= n) return; \
    int id = ids[idsOff + t]; \
    if (id < 0) return; \
    out[(size_t) t * cols + c] = LOAD; \
}
DEFINE_GATHER(f32, ((const GLOBAL float*) table)[(size_t) id * cols + c])
DEFINE_GATHER(f16, half_at((const GLOBAL ushort*) table, id * cols + c))
DEFINE_GATHER(bf16, bf16_at((const GLOBAL ushort*) table, id * cols + c))

/* out[outIdx] = index of the largest x[xOff .. xOff+n) (lowest index on ties). One group: global RED, local RED. */
KERNEL void argmax(const GLOBAL float* x, int xOff, int n, GLOBAL int* out, int outIdx) {
    LOCAL_MEM float bestV[RED];
    LOCAL_MEM int bestI[RED];
    int lid = LID0;
    float bv = NEG_HUGE;
    int bi = 0x7fffffff;
    for (int i = lid; i < n; i += RED) {
        float v = x[xOff + i];
        if (v > bv) { bv = v; bi = i; }
    }
    bestV[lid] = bv;
    bestI[lid] = bi;
    BARRIER();
    for (int s = RED / 2; s > 0; s >>= 1) {
        if (lid < s) {
            float ov = bestV[lid + s];
            int oi = bestI[lid + s];
            if (ov > bestV[lid] || (ov == bestV[lid] && oi < bestI[lid])) {
                bestV[lid] = ov;
                bestI[lid] = oi;
            }
        }
        BARRIER();
    }
    if (lid == 0) out[outIdx] = bestI[0];
}

/* ---- next-token sampling on the device (one work group of SWG threads) ---- */

#define SWG 256

/* Order-preserving key: ascending keys = ascending floats. -0 counts as +0, as the host's double comparisons do. */
DEVFN uint order_key(float f) {
    if (f == 0.0f) f = 0.0f;
    uint b = float_bits(f);
    return (b & 0x80000000u) ? ~b : (b | 0x80000000u);
}

DEVFN acc_t swg_sum(LOCAL_PTR acc_t* s, acc_t v, int lid) {
    s[lid] = v;
    BARRIER();
    for (int st = SWG / 2; st > 0; st >>= 1) {
        if (lid < st) s[lid] += s[lid + st];
        BARRIER();
    }
    acc_t r = s[0];
    BARRIER();
    return r;
}

DEVFN int swg_count(LOCAL_PTR int* s, int v, int lid) {
    s[lid] = v;
    BARRIER();
    for (int st = SWG / 2; st > 0; st >>= 1) {
        if (lid < st) s[lid] += s[lid + st];
        BARRIER();
    }
    int r = s[0];
    BARRIER();
    return r;
}

DEVFN int swg_max_int(LOCAL_PTR int* s, int v, int lid) {
    s[lid] = v;
    BARRIER();
    for (int st = SWG / 2; st > 0; st >>= 1) {
        if (lid < st && s[lid + st] > s[lid]) s[lid] = s[lid + st];
        BARRIER();
    }
    int r = s[0];
    BARRIER();
    return r;
}

/*
 * Picks the next token from logits x[xOff .. xOff+n) exactly as the host Sampler (transformers 4.31's order):
 * temperature, top-k (ties at the k-th value kept), top-p (ascending by probability, ties by index, remove
 * while the cumulative sum is <= 1 - top_p, the most likely token always kept), softmax, and the multinomial
 * draw "first index i whose running sum of probabilities exceeds u" with u supplied by the host.
 * Temperature 0: argmax, lowest index on ties. params[pIdx ..]: temperature (2 words), top_p (2 words),
 * u (2 words), top_k, and the result written to params[pIdx + 7]. work: n acc_t of scratch.
 *
 * Why bitwise searches instead of sorting: every threshold the host finds by sorting (the k-th largest logit,
 * the top-p cut in (probability, index) order, the draw's index) is the largest value satisfying a predicate
 * that is monotone in it, so it is found bit by bit, each bit one pass of sums/counts over the vocabulary.
 * That needs no sort, no global scratch beyond one value per token, and one work group.
 */
KERNEL void sample(const GLOBAL float* x, int xOff, int n, GLOBAL acc_t* work, GLOBAL int* params, int pIdx) {
    LOCAL_MEM acc_t ss[SWG];
    LOCAL_MEM int sc[SWG];
    LOCAL_MEM float sf[SWG];
    int lid = LID0;
    const GLOBAL float* lg = x + xOff;
    GLOBAL int* pr = params + pIdx;
    acc_t temp = acc_from_bits((uint) pr[0], (uint) pr[1]);
    acc_t topP = acc_from_bits((uint) pr[2], (uint) pr[3]);
    acc_t u = acc_from_bits((uint) pr[4], (uint) pr[5]);
    int topK = pr[6];

    /* the largest logit and (for greedy) its lowest index */
    float bv = BITS_TO_FLOAT(0xff800000u); /* -inf */
    int bi = 0x7fffffff;
    for (int i = lid; i < n; i += SWG) {
        float v = lg[i];
        if (v > bv || bi == 0x7fffffff) { bv = v; bi = i; }
    }
    sf[lid] = bv;
    sc[lid] = bi;
    BARRIER();
    for (int st = SWG / 2; st > 0; st >>= 1) {
        if (lid < st) {
            float ov = sf[lid + st];
            int oi = sc[lid + st];
            if (ov > sf[lid] || (ov == sf[lid] && oi < sc[lid])) { sf[lid] = ov; sc[lid] = oi; }
        }
        BARRIER();
    }
    float maxLogit = sf[0];
    int best = sc[0];
    BARRIER();
    if (temp == (acc_t) 0) {
        if (lid == 0) pr[7] = best;
        return;
    }

    /* top-k: kth = the largest key with at least k keys >= it, i.e. the k-th largest logit's key */
    int useK = topK > 0 && topK < n;
    uint kth = 0;
    if (useK) {
        for (int b = 31; b >= 0; b--) {
            uint t = kth | (1u << b);
            int c = 0;
            for (int i = lid; i < n; i += SWG) c += order_key(lg[i]) >= t ? 1 : 0;
            if (swg_count(sc, c, lid) >= topK) kth = t;
        }
    }

    /* softmax numerators of the scaled logits; -1 marks a filtered token (the max logit always survives) */
    acc_t smax = (acc_t) maxLogit / temp;
    acc_t part = 0;
    int keptPart = 0;
    for (int i = lid; i < n; i += SWG) {
        float v = lg[i];
        acc_t e = -1;
        if (!useK || order_key(v) >= kth) {
            e = EXP_ACC((acc_t) v / temp - smax);
            part += e;
            keptPart++;
        }
        work[i] = e;
    }
    acc_t sum = swg_sum(ss, part, lid);

    if (topP < (acc_t) 1) {
        int kept = swg_count(sc, keptPart, lid);
        acc_t thr = (acc_t) 1 - topP;
        int idxBits = 0;
        while ((1 << idxBits) < n) idxBits++;
        /* cut = the largest (key, index) such that the kept tokens before it hold <= 1 - top_p and are not all */
        u64 cut = 0;
        for (int b = 31 + idxBits; b >= 0; b--) {
            u64 t = cut | ((u64) 1 << b);
            acc_t s = 0;
            int c = 0;
            for (int i = lid; i < n; i += SWG) {
                acc_t e = work[i];
                if (e >= 0 && ((((u64) order_key(lg[i])) << idxBits) | (u64) i) < t) {
                    s += e / sum;
                    c++;
                }
            }
            s = swg_sum(ss, s, lid);
            c = swg_count(sc, c, lid);
            if (s <= thr && c <= kept - 1) cut = t;
        }
        part = 0;
        for (int i = lid; i < n; i += SWG) {
            acc_t e = work[i];
            if (e >= 0) {
                if (((((u64) order_key(lg[i])) << idxBits) | (u64) i) < cut) work[i] = -1;
                else part += e;
            }
        }
        sum = swg_sum(ss, part, lid);
    }

    /* the draw: w = the largest index whose preceding probabilities sum to <= u; token w (if w < n) */
    int wBits = 0;
    while ((1 << wBits) <= n) wBits++;
    int w = 0;
    for (int b = wBits - 1; b >= 0; b--) {
        int t = w | (1 << b);
        if (t <= n) {
            acc_t s = 0;
            for (int i = lid; i < t; i += SWG) {
                acc_t e = work[i];
                if (e > 0) s += e / sum;
            }
            if (swg_sum(ss, s, lid) <= u) w = t;
        }
    }
    if (w >= n) {
        /* rounding left u above the total: the last token with a nonzero probability, as the host */
        int last = -1;
        for (int i = lid; i < n; i += SWG) if (work[i] / sum > 0) last = i;
        w = swg_max_int(sc, last, lid);
    }
    if (lid == 0) pr[7] = w;
}

/*
 * linear_batch_T: y[t, r] = W[r, :] . x[t, :] for n <= MAXB tokens of different sessions (batched decode), one
 * work group per row that reads the row once for all n tokens. The per-thread partial sums follow the same
 * order as linear_T, so a batched step gives the same logits as single steps. Launch: global (rows*RED), local (RED).
 */
#define MAXB 8
#define LINEAR_BATCH_STORE \
    for (int t = 0; t < n; t++) { \
        float v = group_sum(scratch, s[t], lid); \
        if (lid == 0) y[yOff + (size_t) t * yStride + r] = v; \
    }

#define DEFINE_LINEAR_BATCH_FLOAT(T) \
KERNEL void linear_batch_##T(const GLOBAL uchar* w, const GLOBAL float* x, int xOff, int xStride, \
                             GLOBAL float* y, int yOff, int yStride, int rows, int cols, int n) { \
    LOCAL_MEM float scratch[RED]; \
    int r = GROUP0, lid = LID0; \
    float s[MAXB]; \
    for (int t = 0; t < MAXB; t++) s[t] = 0.0f; \
    const GLOBAL float* xb = x + xOff; \
    for (int c = lid; c < cols; c += RED) { \
        float wv = wload_##T(w, (size_t) r * cols + c); \
        for (int t = 0; t < n; t++) s[t] += wv * xb[(size_t) t * xStride + c]; \
    } \
    LINEAR_BATCH_STORE \
}

DEFINE_LINEAR_BATCH_FLOAT(f32)
DEFINE_LINEAR_BATCH_FLOAT(f16)
DEFINE_LINEAR_BATCH_FLOAT(bf16)

KERNEL void linear_batch_q8_0(const GLOBAL uchar* w, const GLOBAL float* x, int xOff, int xStride,
                              GLOBAL float* y, int yOff, int yStride, int rows, int cols, int n) {
    LOCAL_MEM float scratch[RED];
    int r = GROUP0, lid = LID0;
    float s[MAXB];
    for (int t = 0; t < MAXB; t++) s[t] = 0.0f;
    int nb = cols / 32;
    const GLOBAL uchar* row = w + (size_t) r * nb * 34;
    for (int b = lid; b < nb; b += RED) {
        const GLOBAL uchar* blk = row + b * 34;
        float d = half_at((const GLOBAL ushort*) blk, 0);
        const GLOBAL schar* q = (const GLOBAL schar*) (blk + 2);
        for (int t = 0; t < n; t++) {
            const GLOBAL float* xb = x + xOff + (size_t) t * xStride + b * 32;
            float a = 0.0f;
            for (int j = 0; j < 32; j++) a += (float) q[j] * xb[j];
            s[t] += d * a;
        }
    }
    LINEAR_BATCH_STORE
}

KERNEL void linear_batch_q4_0(const GLOBAL uchar* w, const GLOBAL float* x, int xOff, int xStride,
                              GLOBAL float* y, int yOff, int yStride, int rows, int cols, int n) {
    LOCAL_MEM float scratch[RED];
    int r = GROUP0, lid = LID0;
    float s[MAXB];
    for (int t = 0; t < MAXB; t++) s[t] = 0.0f;
    int nb = cols / 32;
    const GLOBAL uchar* row = w + (size_t) r * nb * 18;
    for (int b = lid; b < nb; b += RED) {
        const GLOBAL uchar* blk = row + b * 18;
        float d = half_at((const GLOBAL ushort*) blk, 0);
        const GLOBAL uchar* q = blk + 2;
        for (int t = 0; t < n; t++) {
            const GLOBAL float* xb = x + xOff + (size_t) t * xStride + b * 32;
            float a = 0.0f;
            for (int j = 0; j < 16; j++) {
                int v = q[j];
                a += (float) ((v & 15) - 8) * xb[j] + (float) ((v >> 4) - 8) * xb[j + 16];
            }
            s[t] += d * a;
        }
    }
    LINEAR_BATCH_STORE
}

/*
 * ---- CUDA tensor cores (sm_80+): y[t, r] = W[r, :] . x[t, :] with F16 weights and activations rounded to F16,
 * F32 accumulation, through mma.sync.m16n8k16 in inline PTX (no mma.h: NVRTC may not find the toolkit headers).
 * UNEXECUTED: no NVIDIA GPU was available when this was written; it only passed a host syntax check.
 * Each warp computes 16 rows x TC_TOKENS tokens (4 mma tiles of 8 tokens sharing the A fragment); a block has
 * TC_WARPS warps. Launch: grid (ceil(rows / (16*TC_WARPS)), ceil(n / TC_TOKENS)), block (32*TC_WARPS).
 * cols must be a multiple of 16 (the Java side falls back to matmul_f16 otherwise).
 * Fragment layouts (PTX ISA, mma.m16n8k16 .f16): with g = lane/4, q = lane%4,
 *   A regs {a0..a3} = W[g][2q..], W[g+8][2q..], W[g][2q+8..], W[g+8][2q+8..] (two halves each, low = lower k);
 *   B regs {b0, b1} = x[token g][2q..], x[token g][2q+8..];  C {c0..c3} = (row g, tokens 2q, 2q+1), (row g+8, same).
 */
#if defined(OWL_CUDA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define TC_WARPS 4
#define TC_TOKENS 32

/* Two floats as one f16x2 word, lo in the low half (round to nearest even). */
DEVFN uint pack_f16x2(float lo, float hi) {
    uint d;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(d) : "f"(hi), "f"(lo));
    return d;
}

DEVFN void mma_16816(float* c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

KERNEL void matmul_tc_f16(const GLOBAL uchar* w, const GLOBAL float* x, int xOff, int xStride,
                          GLOBAL float* y, int yOff, int yStride, int rows, int cols, int n) {
    int lane = LID0 & 31, warp = LID0 >> 5;
    int g = lane >> 2, q = lane & 3;
    int r0 = (GROUP0 * TC_WARPS + warp) * 16;
    int t0 = GROUP1 * TC_TOKENS;
    const GLOBAL uint* w2 = (const GLOBAL uint*) w; /* pairs of halves; cols even so pairs never straddle rows */
    int ra = r0 + g, rb = r0 + g + 8;
    bool va = ra < rows, vb = rb < rows;
    float acc[4][4];
    for (int j = 0; j < 4; j++) for (int e = 0; e < 4; e++) acc[j][e] = 0.0f;
    for (int k0 = 0; k0 < cols; k0 += 16) {
        int ka = k0 + 2 * q;
        uint a0 = va ? w2[((size_t) ra * cols + ka) >> 1] : 0u;
        uint a1 = vb ? w2[((size_t) rb * cols + ka) >> 1] : 0u;
        uint a2 = va ? w2[((size_t) ra * cols + ka + 8) >> 1] : 0u;
        uint a3 = vb ? w2[((size_t) rb * cols + ka + 8) >> 1] : 0u;
        for (int j = 0; j < 4; j++) {
            int t = t0 + j * 8 + g;
            uint b0 = 0u, b1 = 0u;
            if (t < n) {
                const GLOBAL float* xt = x + xOff + (size_t) t * xStride + ka;
                b0 = pack_f16x2(xt[0], xt[1]);
                b1 = pack_f16x2(xt[8], xt[9]);
            }
            mma_16816(acc[j], a0, a1, a2, a3, b0, b1);
        }
    }
    for (int j = 0; j < 4; j++) {
        int t = t0 + j * 8 + 2 * q;
        if (va && t < n) y[yOff + (size_t) t * yStride + ra] = acc[j][0];
        if (va && t + 1 < n) y[yOff + (size_t) (t + 1) * yStride + ra] = acc[j][1];
        if (vb && t < n) y[yOff + (size_t) t * yStride + rb] = acc[j][2];
        if (vb && t + 1 < n) y[yOff + (size_t) (t + 1) * yStride + rb] = acc[j][3];
    }
}
#endif
