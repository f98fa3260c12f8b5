// What two cores can do with Q4_0 prefill in native code: the GEMM schemes a Java kernel could use, measured in C as
// a yardstick for Owl2J's prefill matmuls (docs/performance-log.md, "Prefill schemes in C"). Not part of the
// product: a measurement, built and run by run.sh. Written for this project (no code copied).
//
// Usage: gemm_ceiling [n [scheme]]: Y[n][rows] = X[n][4096] · Wᵀ at the 7B decoder's prefill shapes (n = 128
// positions by default; random Q4_0 weights of 4096 × 4096 and 11008 × 4096), on 1 and 2 threads (pthreads, weight
// rows split between them); with a scheme, only the schemes whose name starts with it are timed. Prints GFLOP/s =
// 2·n·rows·4096 / seconds, best of REPS runs, and each as a share of the float FMA peak measured the same way
// (12 independent FMA chains on each thread), twice: by the busiest thread's CPU time (what the threads do while
// they run; on a machine shared with other jobs the figure to go by) and by the wall clock. Then, per scheme and
// thread count, one line "TSV<tab>prefill<tab>q4_0<tab>scheme<tab>bits<tab>threads<tab>GFLOP/s<tab>GFLOP/s" (run.sh's
// format): wall-clock GFLOP/s over one 7B layer's mix of the two shapes (four 4096 × 4096 matrices, three of
// 11008 × 4096: all flops over the time all seven take).
// Schemes, each register-blocked (several X rows × several weight rows per inner loop, sums in registers), each on
// weights repacked once at load into the layout it streams best (Owl2J's Q4Tiles and llama.cpp both repack Q4_0
// at load; the repack is not timed), each widening or unpacking a K tile of 256 columns of its row group once and
// running every X row over it:
//   float  : Owl2J's prefill today (Q4Tiles.widenTile + VectorLinear.multiplyTile): the K tile of 2 vectors'
//            worth of weight rows (32 rows with 512-bit vectors, 16 with 256-bit) widened from Q4_0 to floats, d
//            applied, into a transposed [k][rows] scratch, then every group of X rows (12 with 512-bit vectors, 6
//            with 256-bit) multiplied by broadcast FMAs into 2·group accumulators; x stays float.
//   int16  : what the Vector API can express (16-bit multiplies, no multiply-add-pairs or dot-product
//            instruction): x quantized to Q8_0 per row; the K tile unpacked to 16-bit lanes holding q − 8, two
//            consecutive k of one row in each 32-bit lane; per pair of k one 32-bit broadcast of the x pair,
//            vpmullw and vpaddw (16 products of at most 8·127 per 16-bit lane in a block: no overflow); per block
//            the two halves of each lane added as int32 with shifts (no vpmaddwd), converted, one FMA with d_w·d_x.
//   int8   : llama.cpp's AVX2 scheme (vpmaddubsw + vpmaddwd) in the outer-product layout llama.cpp repacks Q4_0
//            into: the K tile unpacked to bytes (unsigned nibbles), four consecutive k of one row in each 32-bit
//            lane; per four k one 32-bit broadcast of four x_q, u8 × s8 pairs (vpmaddubsw), pairs to int32
//            (vpmaddwd with ones), added; per block −8·Σx_q (Q4_0's offset) added, one conversion and one FMA with
//            d_w·d_x.
//   vnni   : the same with vpdpbusd (four u8 × s8 products added into an int32 lane in one instruction):
//            AVX512-VNNI in the 512-bit build, AVX-VNNI (256-bit) in the other; timed only where /proc/cpuinfo
//            lists the extension, compiled with a target attribute so the file builds for any x86-64 with AVX2.
// The last n mod group X rows go through one pass with as many rows (Owl2J's multiplyTile takes them 6 and then
// one at a time: -DSIX_THEN_ONE_REMAINDER; -DONE_ROW_REMAINDER: one at a time). x's quantization to Q8_0
// (O(n·4096), once per matmul) is outside the timed region. Every scheme is first checked against a scalar
// double-precision reference on the same quantized inputs (128 weight rows, n = 1 .. 16 and 29 so that every
// partial group runs, 1 and 2 threads); a scheme whose largest error exceeds 1e-4 of the reference's rms is
// reported as failed and not timed (exit status 1).
// Build: gcc -O3 -mavx2 -mfma -mf16c -pthread (256-bit), or add -DW512 -mavx512f -mavx512bw -mavx512vl (512-bit);
// -DI16_NR=.. -DI16_RV=.. (and I8_, VN_) change the integer schemes' blocking.
#include <immintrin.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define AI static inline __attribute__((always_inline))
// Ends an accumulator update with the value in a register: without it GCC 12 evaluates the products of all the
// unrolled steps first and spills them (and the sums) to the stack.
#define KEEP(acc, value) do { acc = (value); __asm__("" : "+v"(acc)); } while (0)

#ifdef W512
#define L 16 // floats (and int32 lanes) per vector
typedef __m512 vf;
typedef __m512i vi;
#define LOADF _mm512_loadu_ps
#define STOREF _mm512_storeu_ps
#define FMA _mm512_fmadd_ps
#define MULF _mm512_mul_ps
#define ADDF _mm512_add_ps
#define SETF _mm512_set1_ps
#define ZEROF _mm512_setzero_ps
#define LOADI(p) _mm512_loadu_si512((const void *) (p))
#define STOREI(p, v) _mm512_storeu_si512((void *) (p), v)
#define ZEROI _mm512_setzero_si512
#define SET32 _mm512_set1_epi32
#define SET16 _mm512_set1_epi16
#define SET8 _mm512_set1_epi8
#define ADD16 _mm512_add_epi16
#define SUB16 _mm512_sub_epi16
#define MUL16 _mm512_mullo_epi16
#define ADD32 _mm512_add_epi32
#define SUB32 _mm512_sub_epi32
#define SLLI32 _mm512_slli_epi32
#define SRAI32 _mm512_srai_epi32
#define SRLI32 _mm512_srli_epi32
#define SRLI16 _mm512_srli_epi16
#define ANDI _mm512_and_si512
#define CVT _mm512_cvtepi32_ps
#define MADDUBS _mm512_maddubs_epi16
#define MADDWD _mm512_madd_epi16
#define PH2F(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (p)))      // L F16 -> floats
#define U8TO32(p) _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *) (p)))  // L bytes -> int32
#define U8TO16(p) _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *) (p))) // 2L bytes -> int16
#define VNNI_TARGET "avx512vnni"
#define VNNI_FLAG "avx512_vnni"
#define DPBUSD _mm512_dpbusd_epi32
#define FNR 12
#define WIDTH "512-bit"
#else
#define L 8
typedef __m256 vf;
typedef __m256i vi;
#define LOADF _mm256_loadu_ps
#define STOREF _mm256_storeu_ps
#define FMA _mm256_fmadd_ps
#define MULF _mm256_mul_ps
#define ADDF _mm256_add_ps
#define SETF _mm256_set1_ps
#define ZEROF _mm256_setzero_ps
#define LOADI(p) _mm256_loadu_si256((const __m256i *) (p))
#define STOREI(p, v) _mm256_storeu_si256((__m256i *) (p), v)
#define ZEROI _mm256_setzero_si256
#define SET32 _mm256_set1_epi32
#define SET16 _mm256_set1_epi16
#define SET8 _mm256_set1_epi8
#define ADD16 _mm256_add_epi16
#define SUB16 _mm256_sub_epi16
#define MUL16 _mm256_mullo_epi16
#define ADD32 _mm256_add_epi32
#define SUB32 _mm256_sub_epi32
#define SLLI32 _mm256_slli_epi32
#define SRAI32 _mm256_srai_epi32
#define SRLI32 _mm256_srli_epi32
#define SRLI16 _mm256_srli_epi16
#define ANDI _mm256_and_si256
#define CVT _mm256_cvtepi32_ps
#define MADDUBS _mm256_maddubs_epi16
#define MADDWD _mm256_madd_epi16
#define PH2F(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (p)))
#define U8TO32(p) _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *) (p)))
#define U8TO16(p) _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (p)))
#define VNNI_TARGET "avxvnni"
#define VNNI_FLAG "avx_vnni"
#define DPBUSD _mm256_dpbusd_avx_epi32
#define FNR 6
#define WIDTH "256-bit"
#endif

// Register blocking of the integer schemes: X rows per pass (NR) × vectors of weight rows (RV, L rows each).
// The defaults were the fastest of the 4-8 blockings tried per scheme and width on the Zen 5, one thread
// (docs/performance-log.md, "Prefill schemes in C"); -D overrides them.
#ifndef I16_NR
#define I16_NR 4
#endif
#ifndef I16_RV
#define I16_RV 2
#endif
#ifndef I8_NR
#define I8_NR 4
#endif
#ifndef I8_RV
#define I8_RV (L == 16 ? 4 : 2)
#endif
#ifndef VN_NR
#define VN_NR (L == 16 ? 6 : 4)
#endif
#ifndef VN_RV
#define VN_RV 2
#endif
#ifndef REPS
#define REPS 8
#endif

#define COLS 4096
#define NB (COLS / 32) // Q4_0 / Q8_0 blocks per row
#define KT 256         // K tile: columns widened at a time
#define KB (KT / 32)   // blocks per K tile
#define MAXR 64        // most weight rows in one group (the schemes' R)

typedef struct { uint16_t d; uint8_t qs[16]; } __attribute__((packed)) block_q4; // ggml's Q4_0 block

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static void *alloc(size_t bytes) {
    void *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) { fprintf(stderr, "out of memory (%zu bytes)\n", bytes); exit(1); }
    return p;
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs shared by all schemes: W row-major Q4_0 (rows × NB blocks), X float [n][COLS], and X as Q8_0: per row and
// block a float scale dx, the int8 values (xq), the same values as int16 (x16, for the int16 scheme's pair
// broadcast) and Σxq per block (xsum, for Q4_0's −8).
typedef struct {
    int n;
    const float *x;
    const int8_t *xq;
    const int16_t *x16;
    const float *dx;
    const int32_t *xsum;
    int np;              // rows of the panel copies below (n may be less when checking)
    const float *xp;     // x, xq, x16 copied into K-tile panels [COLS / KT][np][KT]
    const int8_t *xqp;
    const int16_t *x16p;
} input;

// X as the kernels read it: in place by default (a row stride of 4096 elements, as Owl2J's multiplyTile reads it),
// or with -DXPANEL=1 from copies in K-tile panels (a row stride of 256 elements), made once per matmul (O(n·4096),
// outside the timed region like x's quantization). Rows 16 KiB apart map to the same L1 set, so a pass over 12 X
// rows keeps 12 lines of one set in use besides the weight tile; on the Zen 5 the panels made no difference.
#ifndef XPANEL
#define XPANEL 0
#endif
#if XPANEL
#define XS KT
#define XAT(in, arr, i, kt) ((in)->arr##p + ((size_t) (kt) * (in)->np + (i)) * KT)
#else
#define XS COLS
#define XAT(in, arr, i, kt) ((in)->arr + (size_t) (i) * COLS + (kt) * KT)
#endif

static void quantize_x(const float *x, int n, int8_t *xq, int16_t *x16, float *dx, int32_t *xsum) {
    for (int i = 0; i < n; i++) {
        for (int b = 0; b < NB; b++) {
            const float *v = x + (size_t) i * COLS + b * 32;
            float amax = 0;
            for (int k = 0; k < 32; k++) amax = fmaxf(amax, fabsf(v[k]));
            float d = amax / 127, inv = d ? 1 / d : 0;
            int sum = 0;
            for (int k = 0; k < 32; k++) {
                int q = (int) nearbyintf(v[k] * inv);
                xq[(size_t) i * COLS + b * 32 + k] = (int8_t) q;
                x16[(size_t) i * COLS + b * 32 + k] = (int16_t) q;
                sum += q;
            }
            dx[i * NB + b] = d;
            xsum[i * NB + b] = sum;
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Repacked weights: groups of R rows; per group and block, R F16 scales then 16·R bytes, each byte one packed
// Q4_0 byte (low nibble: column k, high nibble: column k + 16, k < 16) placed where the scheme's unpacking wants
// it: pos(k, r) below. Same size as Q4_0.
typedef int (*pos_fn)(int k, int r, int R);
static int pos_float(int k, int r, int R) { return k * R + r; }                       // [k][r]
static int pos_i16(int k, int r, int R) { return ((k / 2) * R + r) * 2 + k % 2; }     // [k/2][r][k%2]
static int pos_i8(int k, int r, int R) { return ((k / 4) * R + r) * 4 + k % 4; }      // [k/4][r][k%4]

static uint8_t *repack(const block_q4 *w, long rows, int R, pos_fn pos) {
    size_t per = 18 * (size_t) R; // bytes per group and block
    uint8_t *t = alloc((size_t) rows / R * NB * per);
    for (long g = 0; g < rows / R; g++) {
        for (int b = 0; b < NB; b++) {
            uint8_t *dst = t + (g * NB + b) * per;
            for (int r = 0; r < R; r++) {
                const block_q4 *src = w + (g * R + r) * NB + b;
                memcpy(dst + 2 * r, &src->d, 2);
                for (int k = 0; k < 16; k++) dst[2 * R + pos(k, r, R)] = src->qs[k];
            }
        }
    }
    return t;
}

// ---------------------------------------------------------------------------------------------------------------
// Every scheme runs its kernel on groups of NRMAX X rows and the last n mod NRMAX rows in one pass with as many
// rows (each count its own compiled kernel). -DONE_ROW_REMAINDER does the rest one row at a time instead, and
// -DSIX_THEN_ONE_REMAINDER in groups of 6 and then one row at a time, as Owl2J's multiplyTile does (with 512-bit
// vectors: groups of 12, of 6, then single rows).
#if defined(ONE_ROW_REMAINDER) || defined(SIX_THEN_ONE_REMAINDER)
#ifdef SIX_THEN_ONE_REMAINDER
#define SIXES(n, NRMAX, CALL) if (NRMAX > 6) for (; i + 6 <= (n); i += 6) CALL(6);
#else
#define SIXES(n, NRMAX, CALL)
#endif
#define X_ROWS(n, NRMAX, CALL)                                                                                    \
    {                                                                                                             \
        int i = 0;                                                                                                \
        for (; i + NRMAX <= (n); i += NRMAX) CALL(NRMAX);                                                         \
        SIXES(n, NRMAX, CALL)                                                                                     \
        for (; i < (n); i++) CALL(1);                                                                             \
    }
#else
#define REM(k, NRMAX, CALL) case k: if (k < NRMAX) CALL(k); break;
#define X_ROWS(n, NRMAX, CALL)                                                                                    \
    {                                                                                                             \
        int i = 0;                                                                                                \
        for (; i + NRMAX <= (n); i += NRMAX) CALL(NRMAX);                                                         \
        switch ((n) - i) {                                                                                        \
            REM(1, NRMAX, CALL) REM(2, NRMAX, CALL) REM(3, NRMAX, CALL) REM(4, NRMAX, CALL) REM(5, NRMAX, CALL)   \
            REM(6, NRMAX, CALL) REM(7, NRMAX, CALL) REM(8, NRMAX, CALL) REM(9, NRMAX, CALL) REM(10, NRMAX, CALL)  \
            REM(11, NRMAX, CALL) REM(12, NRMAX, CALL) REM(13, NRMAX, CALL) REM(14, NRMAX, CALL)                  \
            REM(15, NRMAX, CALL)                                                                                  \
        }                                                                                                         \
    }
#endif

// ---------------------------------------------------------------------------------------------------------------
// Scheme float: FR = 2L rows per group, FNR X rows per pass.
#define FR (2 * L)

// tile[k·FR + r] = d·(q − 8) of row r, column k0 + k, for the K tile's KB blocks starting at p (group's block kb0).
AI void widen_float(const uint8_t *p, float *tile) {
    for (int b = 0; b < KB; b++, p += 18 * FR) {
        vf d0 = PH2F(p), d1 = PH2F(p + 2 * L);
        const vi low = SET32(0x0f), eight = SET32(8);
        const uint8_t *q = p + 2 * FR;
        float *t = tile + b * 32 * FR;
        for (int k = 0; k < 16; k++) {
            vi v0 = U8TO32(q + k * FR), v1 = U8TO32(q + k * FR + L);
            STOREF(t + k * FR, MULF(CVT(SUB32(ANDI(v0, low), eight)), d0));
            STOREF(t + k * FR + L, MULF(CVT(SUB32(ANDI(v1, low), eight)), d1));
            STOREF(t + (k + 16) * FR, MULF(CVT(SUB32(SRLI32(v0, 4), eight)), d0));
            STOREF(t + (k + 16) * FR + L, MULF(CVT(SUB32(SRLI32(v1, 4), eight)), d1));
        }
    }
}

// y[i][0 .. FR) (+)= Σ_k x[i][k]·tile[k][0 .. FR) for nr X rows: 2·nr accumulators.
AI void outer_float(const float *tile, const float *x, float *y, int rows, int nr, int first) {
    vf c[FNR][2];
#pragma GCC unroll 16
    for (int i = 0; i < nr; i++) {
        c[i][0] = first ? ZEROF() : LOADF(y + (size_t) i * rows);
        c[i][1] = first ? ZEROF() : LOADF(y + (size_t) i * rows + L);
    }
    for (int k = 0; k < KT; k++) {
        vf w0 = LOADF(tile + k * FR), w1 = LOADF(tile + k * FR + L);
#pragma GCC unroll 16
        for (int i = 0; i < nr; i++) {
            vf b = SETF(x[(size_t) i * XS + k]);
            c[i][0] = FMA(w0, b, c[i][0]);
            c[i][1] = FMA(w1, b, c[i][1]);
        }
    }
#pragma GCC unroll 16
    for (int i = 0; i < nr; i++) {
        STOREF(y + (size_t) i * rows, c[i][0]);
        STOREF(y + (size_t) i * rows + L, c[i][1]);
    }
}

static void run_float(const uint8_t *w, const input *in, float *y, long rows, long g0, long g1) {
    float *tile = alloc(sizeof(float) * KT * FR);
    for (long g = g0; g < g1; g++) {
        for (int kt = 0; kt < NB / KB; kt++) {
            widen_float(w + (g * NB + kt * KB) * 18 * FR, tile);
            float *yg = y + g * FR;
#define CALL_F(nr) outer_float(tile, XAT(in, x, i, kt), yg + i * rows, rows, nr, kt == 0)
            X_ROWS(in->n, FNR, CALL_F)
        }
    }
    free(tile);
}

// ---------------------------------------------------------------------------------------------------------------
// The integer schemes share the K-tile preparation: the block scales as floats (ds[b][R]) and the nibbles unpacked
// in the repacked order, low nibbles (columns 0-15 of the block) first, high nibbles (16-31) after them.

// int16: t16[b][s][r][2] = q − 8 of row r, columns 2s and 2s + 1 of block b (s < 16).
AI void widen_i16(const uint8_t *p, int R, int16_t *t16, float *ds) {
    const vi low = SET16(0x0f), eight = SET16(8);
    for (int b = 0; b < KB; b++, p += 18 * R) {
        for (int r = 0; r < R; r += L) STOREF(ds + b * R + r, PH2F(p + 2 * r));
        const uint8_t *q = p + 2 * R;
        int16_t *t = t16 + b * 32 * R;
        for (int j = 0; j < 16 * R; j += 2 * L) {
            vi v = U8TO16(q + j);
            STOREI(t + j, SUB16(ANDI(v, low), eight));
            STOREI(t + 16 * R + j, SUB16(SRLI16(v, 4), eight));
        }
    }
}

// int8 and vnni: t8[b][s][r][4] = q (unsigned nibble) of row r, columns 4s .. 4s + 3 of block b (s < 8).
AI void widen_i8(const uint8_t *p, int R, uint8_t *t8, float *ds) {
    const vi low = SET8(0x0f);
    for (int b = 0; b < KB; b++, p += 18 * R) {
        for (int r = 0; r < R; r += L) STOREF(ds + b * R + r, PH2F(p + 2 * r));
        const uint8_t *q = p + 2 * R;
        uint8_t *t = t8 + b * 32 * R;
        for (int j = 0; j < 16 * R; j += 4 * L) {
            vi v = LOADI(q + j);
            STOREI(t + j, ANDI(v, low));
            STOREI(t + 16 * R + j, ANDI(SRLI16(v, 4), low));
        }
    }
}

// After a block: y[i][rv·L ..] += float(sum[i][rv]) · d_w[rv] · d_x[i] for nr rows, rv vectors.
#define BLOCK_TO_Y(sum, NRMAX, RVN)                                                                               \
    _Pragma("GCC unroll 16") for (int i = 0; i < nr; i++) {                                                      \
        vf dxi = SETF(dx[i * NB + b]);                                                                            \
        _Pragma("GCC unroll 16") for (int v = 0; v < RVN; v++) {                                                 \
            float *yo = y + (size_t) i * rows + v * L;                                                            \
            STOREF(yo, FMA(CVT(sum[i][v]), MULF(LOADF(ds + b * R + v * L), dxi), LOADF(yo)));                     \
        }                                                                                                         \
    }

#define I16_R (I16_RV * L)
AI void kernel_i16(const int16_t *t16, const float *ds, const int16_t *x16, const float *dx, float *y, int rows,
                   int nr) {
    const int R = I16_R;
    for (int b = 0; b < KB; b++) {
        vi a[I16_NR][I16_RV];
#pragma GCC unroll 16
        for (int i = 0; i < nr; i++)
#pragma GCC unroll 16
            for (int v = 0; v < I16_RV; v++) a[i][v] = ZEROI();
        const int16_t *t = t16 + b * 32 * R;
        for (int s = 0; s < 16; s++) {
            vi w[I16_RV];
#pragma GCC unroll 16
            for (int v = 0; v < I16_RV; v++) w[v] = LOADI(t + (s * R + v * L) * 2);
#pragma GCC unroll 16
            for (int i = 0; i < nr; i++) {
                int32_t pair;
                memcpy(&pair, x16 + (size_t) i * XS + b * 32 + 2 * s, 4);
                vi xb = SET32(pair);
#pragma GCC unroll 16
                for (int v = 0; v < I16_RV; v++) KEEP(a[i][v], ADD16(a[i][v], MUL16(w[v], xb)));
            }
        }
        vi sum[I16_NR][I16_RV]; // the two 16-bit halves of each lane, sign-extended and added
#pragma GCC unroll 16
        for (int i = 0; i < nr; i++)
#pragma GCC unroll 16
            for (int v = 0; v < I16_RV; v++) sum[i][v] = ADD32(SRAI32(SLLI32(a[i][v], 16), 16), SRAI32(a[i][v], 16));
        BLOCK_TO_Y(sum, I16_NR, I16_RV)
    }
}

#define I8_R (I8_RV * L)
AI void kernel_i8(const uint8_t *t8, const float *ds, const int8_t *xq, const float *dx, const int32_t *xsum,
                  float *y, int rows, int nr) {
    const int R = I8_R;
    const vi ones = SET16(1);
    for (int b = 0; b < KB; b++) {
        vi a[I8_NR][I8_RV];
#pragma GCC unroll 16
        for (int i = 0; i < nr; i++)
#pragma GCC unroll 16
            for (int v = 0; v < I8_RV; v++) a[i][v] = ZEROI();
        const uint8_t *t = t8 + b * 32 * R;
#pragma GCC unroll 8
        for (int s = 0; s < 8; s++) {
            vi w[I8_RV];
#pragma GCC unroll 16
            for (int v = 0; v < I8_RV; v++) w[v] = LOADI(t + (s * R + v * L) * 4);
#pragma GCC unroll 16
            for (int i = 0; i < nr; i++) {
                int32_t quad;
                memcpy(&quad, xq + (size_t) i * XS + b * 32 + 4 * s, 4);
                vi xb = SET32(quad);
#pragma GCC unroll 16
                for (int v = 0; v < I8_RV; v++) KEEP(a[i][v], ADD32(a[i][v], MADDWD(MADDUBS(w[v], xb), ones)));
            }
        }
#pragma GCC unroll 16
        for (int i = 0; i < nr; i++)
#pragma GCC unroll 16
            for (int v = 0; v < I8_RV; v++) a[i][v] = ADD32(a[i][v], SET32(-8 * xsum[i * NB + b]));
        BLOCK_TO_Y(a, I8_NR, I8_RV)
    }
}

#define VN_R (VN_RV * L)
__attribute__((target(VNNI_TARGET))) AI void kernel_vnni(const uint8_t *t8, const float *ds, const int8_t *xq,
                                                         const float *dx, const int32_t *xsum, float *y, int rows,
                                                         int nr) {
    const int R = VN_R;
    for (int b = 0; b < KB; b++) {
        vi a[VN_NR][VN_RV];
#pragma GCC unroll 16
        for (int i = 0; i < nr; i++)
#pragma GCC unroll 16
            for (int v = 0; v < VN_RV; v++) a[i][v] = ZEROI();
        const uint8_t *t = t8 + b * 32 * R;
#pragma GCC unroll 8
        for (int s = 0; s < 8; s++) {
            vi w[VN_RV];
#pragma GCC unroll 16
            for (int v = 0; v < VN_RV; v++) w[v] = LOADI(t + (s * R + v * L) * 4);
#pragma GCC unroll 16
            for (int i = 0; i < nr; i++) {
                int32_t quad;
                memcpy(&quad, xq + (size_t) i * XS + b * 32 + 4 * s, 4);
                vi xb = SET32(quad);
#pragma GCC unroll 16
                for (int v = 0; v < VN_RV; v++) KEEP(a[i][v], DPBUSD(a[i][v], w[v], xb));
            }
        }
#pragma GCC unroll 16
        for (int i = 0; i < nr; i++)
#pragma GCC unroll 16
            for (int v = 0; v < VN_RV; v++) a[i][v] = ADD32(a[i][v], SET32(-8 * xsum[i * NB + b]));
        BLOCK_TO_Y(a, VN_NR, VN_RV)
    }
}

static void zero_rows(float *y, long rows, int n, long r0, int R) {
    for (int i = 0; i < n; i++) memset(y + (size_t) i * rows + r0, 0, sizeof(float) * R);
}

static void run_i16(const uint8_t *w, const input *in, float *y, long rows, long g0, long g1) {
    const int R = I16_R;
    int16_t *t16 = alloc(sizeof(int16_t) * KT * R);
    float *ds = alloc(sizeof(float) * KB * R);
    for (long g = g0; g < g1; g++) {
        zero_rows(y, rows, in->n, g * R, R);
        for (int kt = 0; kt < NB / KB; kt++) {
            widen_i16(w + (g * NB + kt * KB) * 18 * R, R, t16, ds);
            float *yg = y + g * R;
#define CALL_I16(nr) kernel_i16(t16, ds, XAT(in, x16, i, kt), in->dx + i * NB + kt * KB, yg + i * rows, rows, nr)
            X_ROWS(in->n, I16_NR, CALL_I16)
        }
    }
    free(t16);
    free(ds);
}

static void run_i8(const uint8_t *w, const input *in, float *y, long rows, long g0, long g1) {
    const int R = I8_R;
    uint8_t *t8 = alloc(KT * R);
    float *ds = alloc(sizeof(float) * KB * R);
    for (long g = g0; g < g1; g++) {
        zero_rows(y, rows, in->n, g * R, R);
        for (int kt = 0; kt < NB / KB; kt++) {
            widen_i8(w + (g * NB + kt * KB) * 18 * R, R, t8, ds);
            float *yg = y + g * R;
            int o = kt * KB;
#define CALL_I8(nr) kernel_i8(t8, ds, XAT(in, xq, i, kt), in->dx + i * NB + o, in->xsum + i * NB + o, yg + i * rows, rows, nr)
            X_ROWS(in->n, I8_NR, CALL_I8)
        }
    }
    free(t8);
    free(ds);
}

__attribute__((target(VNNI_TARGET))) static void run_vnni(const uint8_t *w, const input *in, float *y, long rows,
                                                          long g0, long g1) {
    const int R = VN_R;
    uint8_t *t8 = alloc(KT * R);
    float *ds = alloc(sizeof(float) * KB * R);
    for (long g = g0; g < g1; g++) {
        zero_rows(y, rows, in->n, g * R, R);
        for (int kt = 0; kt < NB / KB; kt++) {
            widen_i8(w + (g * NB + kt * KB) * 18 * R, R, t8, ds);
            float *yg = y + g * R;
            int o = kt * KB;
#define CALL_VN(nr) kernel_vnni(t8, ds, XAT(in, xq, i, kt), in->dx + i * NB + o, in->xsum + i * NB + o, yg + i * rows, rows, nr)
            X_ROWS(in->n, VN_NR, CALL_VN)
        }
    }
    free(t8);
    free(ds);
}

// ---------------------------------------------------------------------------------------------------------------
// Schemes, threads, timing.
typedef void (*run_fn)(const uint8_t *w, const input *in, float *y, long rows, long g0, long g1);
typedef struct { const char *name; int R; pos_fn pos; run_fn run; int nr, rv; } scheme;

// Each thread's CPU time is read as well as the wall clock: on a machine shared with other jobs the wall clock
// counts the time the threads waited for a core, their CPU time only the time they ran.
typedef struct { double wall, cpu; } timing; // cpu: the busiest thread's CPU seconds

static double thread_cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct { const scheme *s; const uint8_t *w; const input *in; float *y; long rows, g0, g1; double cpu; } job;

static void *work(void *arg) {
    job *j = arg;
    double c0 = thread_cpu();
    j->s->run(j->w, j->in, j->y, j->rows, j->g0, j->g1);
    j->cpu = thread_cpu() - c0;
    return NULL;
}

// One matmul on `threads` threads, groups of R rows split evenly.
static timing matmul(const scheme *s, const uint8_t *w, const input *in, float *y, long rows, int threads) {
    pthread_t t[8];
    job jobs[8];
    long groups = rows / s->R;
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job) {s, w, in, y, rows, groups * i / threads, groups * (i + 1) / threads, 0};
        pthread_create(&t[i], NULL, work, &jobs[i]);
    }
    timing r = {0, 0};
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        if (jobs[i].cpu > r.cpu) r.cpu = jobs[i].cpu;
    }
    r.wall = now() - t0;
    return r;
}

// The float peak: 12 independent FMA chains per thread (more than latency × FMA pipes of current x86 cores).
#define CHAINS 12
static volatile float SINK;
typedef struct { long iters; double cpu; } chains_job;
static void *fma_chains(void *arg) {
    chains_job *j = arg;
    double c0 = thread_cpu();
    vf c[CHAINS], m = SETF(0.999999f), a = SETF(1e-7f);
    for (int k = 0; k < CHAINS; k++) c[k] = SETF((float) k);
    for (long it = 0; it < j->iters; it++) {
#pragma GCC unroll 12
        for (int k = 0; k < CHAINS; k++) c[k] = FMA(c[k], m, a);
    }
    vf s = c[0];
    for (int k = 1; k < CHAINS; k++) s = ADDF(s, c[k]);
    float out[L];
    STOREF(out, s);
    SINK = out[0];
    j->cpu = thread_cpu() - c0;
    return NULL;
}

// GFLOP/s of `threads` threads running the chains: [0] by the wall clock, [1] by the busiest thread's CPU time.
static void fma_peak(int threads, double *g) {
    long iters = 20000000;
    double flops = threads * (double) iters * CHAINS * L * 2;
    g[0] = g[1] = 0;
    for (int rep = 0; rep < REPS; rep++) {
        pthread_t t[8];
        chains_job jobs[8];
        double t0 = now(), cpu = 0;
        for (int i = 0; i < threads; i++) {
            jobs[i] = (chains_job) {iters, 0};
            pthread_create(&t[i], NULL, fma_chains, &jobs[i]);
        }
        for (int i = 0; i < threads; i++) {
            pthread_join(t[i], NULL);
            if (jobs[i].cpu > cpu) cpu = jobs[i].cpu;
        }
        double wall = now() - t0;
        if (flops / wall / 1e9 > g[0]) g[0] = flops / wall / 1e9;
        if (flops / cpu / 1e9 > g[1]) g[1] = flops / cpu / 1e9;
    }
}

static int cpu_has(const char *flag) { // as /proc/cpuinfo's flags line lists it
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return 0;
    char line[8192];
    int found = 0;
    size_t len = strlen(flag);
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        for (char *p = strstr(line, flag); p && !found; p = strstr(p + 1, flag))
            found = (p[-1] == ' ' || p[-1] == '\t') && (p[len] == ' ' || p[len] == '\n');
    }
    fclose(f);
    return found;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static block_q4 *random_q4(long rows) {
    block_q4 *w = alloc(sizeof(block_q4) * rows * NB);
    for (long i = 0; i < rows * NB; i++) {
        // scales about 0.02/4, like LLaMA's weights; nibbles uniform
        w[i].d = _cvtss_sh(0.003f + 0.004f * (float) (next() % 1000) / 1000, 0);
        uint64_t a = next(), b = next();
        memcpy(w[i].qs, &a, 8);
        memcpy(w[i].qs + 8, &b, 8);
    }
    return w;
}

static void random_x(input *in, int n) {
    float *x = alloc(sizeof(float) * n * COLS);
    for (long i = 0; i < (long) n * COLS; i++) x[i] = (float) ((double) (next() % 2000001) / 1000000 - 1);
    int8_t *xq = alloc((size_t) n * COLS);
    int16_t *x16 = alloc(sizeof(int16_t) * n * COLS);
    float *dx = alloc(sizeof(float) * n * NB);
    int32_t *xsum = alloc(sizeof(int32_t) * n * NB);
    quantize_x(x, n, xq, x16, dx, xsum);
    float *xp = alloc(sizeof(float) * n * COLS);
    int8_t *xqp = alloc((size_t) n * COLS);
    int16_t *x16p = alloc(sizeof(int16_t) * n * COLS);
    for (int kt = 0; kt < COLS / KT; kt++) {
        for (int i = 0; i < n; i++) {
            size_t from = (size_t) i * COLS + kt * KT, to = ((size_t) kt * n + i) * KT;
            memcpy(xp + to, x + from, sizeof(float) * KT);
            memcpy(xqp + to, xq + from, KT);
            memcpy(x16p + to, x16 + from, sizeof(int16_t) * KT);
        }
    }
    *in = (input) {n, x, xq, x16, dx, xsum, n, xp, xqp, x16p};
}

// ref[i][r] in double from the same quantized inputs: Q8_0 x for the integer schemes, float x for the float one.
static double *reference(const block_q4 *w, const input *in, long rows, int integer) {
    double *ref = alloc(sizeof(double) * in->n * rows);
    for (int i = 0; i < in->n; i++) {
        for (long r = 0; r < rows; r++) {
            double acc = 0;
            for (int b = 0; b < NB; b++) {
                const block_q4 *blk = w + r * NB + b;
                double sb = 0;
                for (int k = 0; k < 32; k++) {
                    int q = (k < 16 ? blk->qs[k] & 15 : blk->qs[k - 16] >> 4) - 8;
                    long e = (long) i * COLS + b * 32 + k;
                    sb += integer ? (double) q * in->xq[e] : (double) q * in->x[e];
                }
                acc += sb * _cvtsh_ss(blk->d) * (integer ? in->dx[i * NB + b] : 1.0);
            }
            ref[i * rows + r] = acc;
        }
    }
    return ref;
}

// Largest |y − ref| over ref's rms, for the first n rows of X (every output must be written: y starts as NaN).
static double check(const scheme *s, const uint8_t *p, const input *in, int n, const double *ref, long rows,
                    int threads) {
    input part = *in;
    part.n = n;
    float *y = alloc(sizeof(float) * n * rows);
    for (long e = 0; e < (long) n * rows; e++) y[e] = NAN;
    matmul(s, p, &part, y, rows, threads);
    double maxerr = 0, sq = 0;
    for (long e = 0; e < (long) n * rows; e++) sq += ref[e] * ref[e];
    double rms = sqrt(sq / ((double) n * rows));
    for (long e = 0; e < (long) n * rows; e++) {
        double err = fabs(y[e] - ref[e]) / rms;
        if (!(err <= maxerr)) maxerr = isnan(err) ? INFINITY : err;
    }
    free(y);
    return maxerr;
}

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 128;
    const char *only = argc > 2 ? argv[2] : ""; // time only the schemes whose name starts with this
    if (n < 1) { fprintf(stderr, "usage: gemm_ceiling [n >= 1] [scheme name prefix]\n"); return 1; }
    int vnni = cpu_has(VNNI_FLAG);
    const char *tsv[] = {"float-fma", "int16-mullw", "int8-maddubs", "int8-vnni"}; // the TSV lines' names
    scheme all[] = {
        {"float FMA outer product", FR, pos_float, run_float, FNR, 2},
        {"int16 vpmullw+vpaddw", I16_R, pos_i16, run_i16, I16_NR, I16_RV},
        {"int8 vpmaddubsw+vpmaddwd", I8_R, pos_i8, run_i8, I8_NR, I8_RV},
        {"int8 vpdpbusd (VNNI)", VN_R, pos_i8, run_vnni, VN_NR, VN_RV},
    };
    int count = vnni ? 4 : 3;
    printf("%s vectors; %s %s; n = %d X rows, K = %d, Q4_0 weights, best of %d\n", WIDTH, VNNI_FLAG,
           vnni ? "present" : "absent (vnni scheme skipped)", n, COLS, REPS);

    // correctness: 2·(largest R) rows, n = 1 .. 16 and 29 (every partial X-row group of every scheme), 1 and 2
    // threads
    input small;
    random_x(&small, 29);
    long srows = 2 * MAXR;
    block_q4 *sw = random_q4(srows);
    double *ref[2] = {reference(sw, &small, srows, 0), reference(sw, &small, srows, 1)};
    int ok[4];
    for (int s = 0; s < count; s++) {
        uint8_t *p = repack(sw, srows, all[s].R, all[s].pos);
        double e = 0;
        for (int m = 1; m <= 17; m++) {
            for (int t = 1; t <= 2; t++) {
                double err = check(&all[s], p, &small, m <= 16 ? m : 29, ref[s > 0], srows, t);
                if (!(err <= e)) e = err;
            }
        }
        free(p);
        ok[s] = e <= 1e-4;
        printf("check %-26s (%2d rows x %d weight rows per pass): max |y - ref| / rms(ref) = %.2e %s\n", all[s].name,
               all[s].nr, all[s].rv * L, e, ok[s] ? "ok" : "FAILED: not timed");
    }

    double peak[3][2]; // [threads][wall, cpu]
    fma_peak(1, peak[1]);
    fma_peak(2, peak[2]);
    printf("float FMA peak (%d independent chains per thread), GFLOP/s by CPU time (by wall clock): 1 thread %.1f (%.1f),"
           " 2 threads %.1f (%.1f)\n", CHAINS, peak[1][1], peak[1][0], peak[2][1], peak[2][0]);

    input in;
    random_x(&in, n);
    long shapes[] = {4096, 11008};
    double res[4][4][2]; // [scheme][shape·2 + threads − 1][wall, cpu]
    for (int sh = 0; sh < 2; sh++) {
        long rows = shapes[sh];
        block_q4 *w = random_q4(rows);
        float *y = alloc(sizeof(float) * n * rows);
        for (int s = 0; s < count; s++) {
            if (!ok[s] || strncmp(all[s].name, only, strlen(only)) != 0) continue;
            if (rows % all[s].R != 0) { fprintf(stderr, "%ld rows: not a multiple of %d\n", rows, all[s].R); return 1; }
            uint8_t *p = repack(w, rows, all[s].R, all[s].pos);
            for (int t = 1; t <= 2; t++) {
                timing best = {1e30, 1e30};
                matmul(&all[s], p, &in, y, rows, t); // warm-up: weights paged in
                for (int rep = 0; rep < REPS; rep++) {
                    timing r = matmul(&all[s], p, &in, y, rows, t);
                    if (r.wall < best.wall) best.wall = r.wall;
                    if (r.cpu < best.cpu) best.cpu = r.cpu;
                }
                double flops = 2.0 * n * rows * COLS;
                res[s][sh * 2 + t - 1][0] = flops / best.wall / 1e9;
                res[s][sh * 2 + t - 1][1] = flops / best.cpu / 1e9;
            }
            free(p);
        }
        free(y);
        free(w);
    }
    for (int m = 1; m >= 0; m--) {
        printf("%-26s %22s %22s %22s %22s\n", m ? "by CPU time: GFLOP/s (%)" : "by wall clock: GFLOP/s (%)",
               "4096x4096, 1 thr", "4096x4096, 2 thr", "11008x4096, 1 thr", "11008x4096, 2 thr");
        for (int s = 0; s < count; s++) {
            if (strncmp(all[s].name, only, strlen(only)) != 0) continue;
            printf("%-26s", all[s].name);
            for (int c = 0; c < 4; c++) {
                if (!ok[s]) { printf(" %22s", "failed check"); continue; }
                char cell[32];
                snprintf(cell, sizeof cell, "%.1f (%.0f %%)", res[s][c][m], 100 * res[s][c][m] / peak[c % 2 + 1][m]);
                printf(" %22s", cell);
            }
            printf("\n");
        }
    }
    for (int s = 0; s < count; s++) {
        if (!ok[s] || strncmp(all[s].name, only, strlen(only)) != 0) continue;
        for (int t = 1; t <= 2; t++) {
            double f1 = 4 * 2.0 * n * 4096 * COLS, f2 = 3 * 2.0 * n * 11008 * COLS; // one layer's flops per shape
            double layer = (f1 + f2) / (f1 / res[s][t - 1][0] + f2 / res[s][2 + t - 1][0]);
            printf("TSV\tprefill\tq4_0\t%s\t%d\t%d\t%.2f\tGFLOP/s\n", tsv[s], L * 32, t, layer);
        }
    }
    for (int s = 0; s < count; s++) if (!ok[s]) return 1;
    return 0;
}
