/*
 * The one kernel not written in Java: CUDA tensor cores need warp-level mma instructions the kernel language does
 * not have, so this stays CUDA C++ for NVRTC (compiled only for CUDA devices; Kernels.matmulTensorCores launches it).
 * No headers: NVRTC may not find the toolkit's.
 */
typedef unsigned int uint;
typedef unsigned char uchar;
#define size_t unsigned long long
/*
 * ---- CUDA tensor cores (sm_80+): y[t, r] = W[r, :] . x[t, :] with F16 weights and activations rounded to F16,
 * F32 accumulation, through mma.sync.m16n8k16 in inline PTX (no mma.h: NVRTC may not find the toolkit headers).
 * UNEXECUTED: no NVIDIA GPU was available when this was written; NVRTC and ptxas compile it (CudaCompileTest).
 * Each warp computes 16 rows x TC_TOKENS tokens (4 mma tiles of 8 tokens sharing the A fragment); a block has
 * TC_WARPS warps. Launch: grid (ceil(rows / (16*TC_WARPS)), ceil(n / TC_TOKENS)), block (32*TC_WARPS).
 * cols must be a multiple of 16 (the Java side falls back to matmulF16 otherwise).
 * Fragment layouts (PTX ISA, mma.m16n8k16 .f16): with g = lane/4, q = lane%4,
 *   A regs {a0..a3} = W[g][2q..], W[g+8][2q..], W[g][2q+8..], W[g+8][2q+8..] (two halves each, low = lower k);
 *   B regs {b0, b1} = x[token g][2q..], x[token g][2q+8..];  C {c0..c3} = (row g, tokens 2q, 2q+1), (row g+8, same).
 */
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
#define TC_WARPS 4
#define TC_TOKENS 32

/* Two floats as one f16x2 word, lo in the low half (round to nearest even). */
static __device__ __forceinline__ uint pack_f16x2(float lo, float hi) {
    uint d;
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(d) : "f"(hi), "f"(lo));
    return d;
}

static __device__ __forceinline__ void mma_16816(float* c, uint a0, uint a1, uint a2, uint a3, uint b0, uint b1) {
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
                 : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
}

extern "C" __global__ void matmul_tc_f16(const uchar* w, const float* x, int xOff, int xStride,
                          float* y, int yOff, int yStride, int rows, int cols, int n) {
    int lane = ((int) threadIdx.x) & 31, warp = ((int) threadIdx.x) >> 5;
    int g = lane >> 2, q = lane & 3;
    int r0 = (((int) blockIdx.x) * TC_WARPS + warp) * 16;
    int t0 = ((int) blockIdx.y) * TC_TOKENS;
    const uint* w2 = (const uint*) w; /* pairs of halves; cols even so pairs never straddle rows */
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
                const float* xt = x + xOff + (size_t) t * xStride + ka;
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
