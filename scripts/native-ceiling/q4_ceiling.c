// What two cores can do with Q4_0 decode in native code, as a yardstick for the Java kernels (docs/performance-log.md).
// Not part of the product: a measurement, built and run by run.sh. Written for this project (no code copied).
//
// Usage: q4_ceiling [q4_0|q8_0] [weights]. Streams a Q4_0 (or Q8_0) matrix as large as the 7B decoder
// (6.48e9 weights: 3.65 GB as Q4_0, 6.9 GB as Q8_0) once per pass and reports the weight bytes consumed per
// second by each row-dot kernel on 1 and 2 threads, from DRAM and from a 1024-row slice that stays in cache
// (int16 is measured for Q4_0 only):
//   read   : loads every byte and sums it (the bandwidth a perfect kernel could reach);
//   int8   : llama.cpp's scheme: x quantized to Q8_0, nibbles unpacked to bytes, u8 x s8 multiply-add pairs
//            (vpmaddubsw), pairs to int32 (vpmaddwd), one float FMA per block with d_w * d_x;
//   int16  : what the Vector API can express without an int8 dot instruction: x quantized to Q8_0, both sides
//            widened to 16-bit lanes, multiplied (vpmullw), summed to int32, one float FMA per block;
//   float  : the scheme of Owl2J's row-major Vector API kernel: nibbles zero-extended to int32 lanes, converted
//            to float, FMA with float x, d applied per block;
//   int16 tiles: the scheme of Owl2J's Q4Tiles kernel: 16 rows repacked so one 16-byte load holds the same byte
//            of 16 rows, zero-extended to 16-bit lanes, nibbles split with and/shift, multiplied by the broadcast
//            Q8_0 x value (vpmullw) and added in 16-bit lanes (16 products per lane at most, no overflow), widened
//            to int32 once per block by shifts, −8·Σx_q added, one float FMA per block and row.
// Build: gcc -O3 -mavx2 -mfma -mf16c -pthread (AVX2 only, like the CI machine).
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COLS 4096
#define BLOCKS (COLS / 32)
typedef struct { uint16_t d; uint8_t qs[16]; } __attribute__((packed)) block_q4;
typedef struct { float d; int8_t qs[32]; } block_q8;

static block_q4 *W;
static long ROWS;
static float X[COLS];
static block_q8 XQ[BLOCKS];
static volatile float SINK;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_hadd_ps(s, s);
    s = _mm_hadd_ps(s, s);
    return _mm_cvtss_f32(s);
}

static float dot_int8(const block_q4 *w) {
    __m256 acc = _mm256_setzero_ps();
    const __m256i low = _mm256_set1_epi8(0x0f), eight = _mm256_set1_epi8(8);
    const __m256i ones = _mm256_set1_epi16(1);
    for (int b = 0; b < BLOCKS; b++) {
        __m128i packed = _mm_loadu_si128((const __m128i *) w[b].qs);
        // bytes 0..15: low nibbles (elements 0..15), bytes 16..31: high nibbles (elements 16..31)
        __m256i q = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), low);
        q = _mm256_sub_epi8(q, eight);
        __m256i y = _mm256_loadu_si256((const __m256i *) XQ[b].qs);
        __m256i ax = _mm256_sign_epi8(q, q), sy = _mm256_sign_epi8(y, q);
        __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sy), ones);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * XQ[b].d), _mm256_cvtepi32_ps(s32), acc);
    }
    return hsum(acc);
}

static float dot_float(const block_q4 *w) {
    __m256 acc = _mm256_setzero_ps();
    const __m256i low = _mm256_set1_epi32(0x0f);
    const __m256 eight = _mm256_set1_ps(8.0f);
    for (int b = 0; b < BLOCKS; b++) {
        __m128i packed = _mm_loadu_si128((const __m128i *) w[b].qs);
        __m256 s = _mm256_setzero_ps();
        for (int p = 0; p < 2; p++) {
            __m256i q = _mm256_cvtepu8_epi32(p ? _mm_srli_si128(packed, 8) : packed);
            __m256 lo = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_and_si256(q, low)), eight);
            __m256 hi = _mm256_sub_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(q, 4)), eight);
            s = _mm256_fmadd_ps(lo, _mm256_loadu_ps(X + b * 32 + p * 8), s);
            s = _mm256_fmadd_ps(hi, _mm256_loadu_ps(X + b * 32 + 16 + p * 8), s);
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d)), s, acc);
    }
    return hsum(acc);
}

static float dot_int16(const block_q4 *w) {
    __m256 acc = _mm256_setzero_ps();
    const __m256i low = _mm256_set1_epi8(0x0f), eight = _mm256_set1_epi8(8);
    for (int b = 0; b < BLOCKS; b++) {
        __m128i packed = _mm_loadu_si128((const __m128i *) w[b].qs);
        __m256i q = _mm256_sub_epi8(_mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), low), eight);
        __m256i y = _mm256_loadu_si256((const __m256i *) XQ[b].qs);
        __m256i p0 = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(_mm256_castsi256_si128(q)), _mm256_cvtepi8_epi16(_mm256_castsi256_si128(y)));
        __m256i p1 = _mm256_mullo_epi16(_mm256_cvtepi8_epi16(_mm256_extracti128_si256(q, 1)), _mm256_cvtepi8_epi16(_mm256_extracti128_si256(y, 1)));
        __m256i s16 = _mm256_add_epi16(p0, p1); // |sum| <= 2 * 8 * 127
        __m256i s32 = _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(s16)), _mm256_cvtepi16_epi32(_mm256_extracti128_si256(s16, 1)));
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * XQ[b].d), _mm256_cvtepi32_ps(s32), acc);
    }
    return hsum(acc);
}

// Q4_0 repacked into tiles of 16 rows: per block, 16 F16 scales (row i in 16-bit lane 2i for i < 8, 2(i-8)+1
// otherwise, as in Q4Tiles), then 16 groups of 16 bytes (group j: byte j of each row). Same size as Q4_0.
static uint8_t *T;
static int XSUM[BLOCKS];

static inline __m256i lo16(__m256i v) { return _mm256_srai_epi32(_mm256_slli_epi32(v, 16), 16); }

static inline __m256 f16lanes(__m256i h) { // F16 bits in the low 16 bits of each int32 lane -> float
    return _mm256_cvtph_ps(_mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi32(h, h), 0x08)));
}

static void tile_int16(const uint8_t *t, float *y) {
    __m256 accE = _mm256_setzero_ps(), accO = _mm256_setzero_ps();
    const __m256i low = _mm256_set1_epi16(0x0f);
    for (int b = 0; b < BLOCKS; b++, t += 16 * 18) {
        __m256i lo = _mm256_setzero_si256(), hi = _mm256_setzero_si256();
        for (int j = 0; j < 16; j++) {
            __m256i w = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *) (t + 32 + 16 * j)));
            lo = _mm256_add_epi16(lo, _mm256_mullo_epi16(_mm256_and_si256(w, low), _mm256_set1_epi16(XQ[b].qs[j])));
            hi = _mm256_add_epi16(hi, _mm256_mullo_epi16(_mm256_srli_epi16(w, 4), _mm256_set1_epi16(XQ[b].qs[16 + j])));
        }
        __m256i off = _mm256_set1_epi32(-8 * XSUM[b]);
        __m256i se = _mm256_add_epi32(_mm256_add_epi32(lo16(lo), lo16(hi)), off);
        __m256i so = _mm256_add_epi32(_mm256_add_epi32(_mm256_srai_epi32(lo, 16), _mm256_srai_epi32(hi, 16)), off);
        __m256i sc = _mm256_loadu_si256((const __m256i *) t);
        __m256 dx = _mm256_set1_ps(XQ[b].d);
        accE = _mm256_fmadd_ps(_mm256_cvtepi32_ps(se), _mm256_mul_ps(f16lanes(_mm256_and_si256(sc, _mm256_set1_epi32(0xffff))), dx), accE);
        accO = _mm256_fmadd_ps(_mm256_cvtepi32_ps(so), _mm256_mul_ps(f16lanes(_mm256_srli_epi32(sc, 16)), dx), accO);
    }
    _mm256_storeu_ps(y, accE);
    _mm256_storeu_ps(y + 8, accO);
}

// Q8_0 rows (34-byte blocks) for the same comparison: the float scheme sign-extends bytes to int32 lanes.
typedef struct { uint16_t d; int8_t qs[32]; } __attribute__((packed)) block_q8w;
static block_q8w *W8;

static float dot8_float(const block_q8w *w) {
    __m256 acc = _mm256_setzero_ps();
    for (int b = 0; b < BLOCKS; b++) {
        __m256 s = _mm256_setzero_ps();
        for (int p = 0; p < 4; p++) {
            __m256 q = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) (w[b].qs + 8 * p))));
            s = _mm256_fmadd_ps(q, _mm256_loadu_ps(X + b * 32 + p * 8), s);
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d)), s, acc);
    }
    return hsum(acc);
}

static float dot8_int8(const block_q8w *w) {
    __m256 acc = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int b = 0; b < BLOCKS; b++) {
        __m256i q = _mm256_loadu_si256((const __m256i *) w[b].qs);
        __m256i y = _mm256_loadu_si256((const __m256i *) XQ[b].qs);
        __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q)), ones);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(h2f(w[b].d) * XQ[b].d), _mm256_cvtepi32_ps(s32), acc);
    }
    return hsum(acc);
}

static float row_read(const void *w, size_t rowBytes) {
    const __m256i *p = (const __m256i *) w;
    __m256i acc = _mm256_setzero_si256();
    size_t n = rowBytes / 32;
    for (size_t i = 0; i < n; i++) acc = _mm256_add_epi64(acc, _mm256_loadu_si256(p + i));
    return (float) _mm256_extract_epi64(acc, 0);
}

typedef struct { int kernel, reps; long r0, r1; } job;

static void *work(void *arg) {
    job *j = arg;
    float s = 0;
    for (int rep = 0; rep < j->reps; rep++) {
        for (long r = j->r0; r < j->r1; r++) {
            if (W8) {
                const block_q8w *w = W8 + r * BLOCKS;
                s += j->kernel == 0 ? row_read(w, sizeof(block_q8w) * BLOCKS) : j->kernel == 1 ? dot8_int8(w) : dot8_float(w);
            } else if (j->kernel == 4) {
                if (r % 16 == 0) { // one tile of 16 rows at a time
                    float y[16];
                    tile_int16(T + (size_t) r * BLOCKS * 18, y);
                    s += y[0];
                }
            } else {
                const block_q4 *w = W + r * BLOCKS;
                s += j->kernel == 0 ? row_read(w, sizeof(block_q4) * BLOCKS) : j->kernel == 1 ? dot_int8(w) : j->kernel == 2 ? dot_int16(w) : dot_float(w);
            }
        }
    }
    SINK = s;
    return NULL;
}

static double pass(int kernel, int threads, long rows, int reps) {
    pthread_t t[8];
    job jobs[8];
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job) {kernel, reps, rows * i / threads, rows * (i + 1) / threads};
        pthread_create(&t[i], NULL, work, &jobs[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    return now() - t0;
}

int main(int argc, char **argv) {
    int q8 = argc > 1 && strcmp(argv[1], "q8_0") == 0;
    double weights = argc > 2 ? atof(argv[2]) : 6.48e9; // decoder weights read per token (7B: 32 x 202.4M)
    ROWS = (long) (weights / COLS);
    size_t blockBytes = q8 ? sizeof(block_q8w) : sizeof(block_q4);
    size_t bytes = (size_t) ROWS * BLOCKS * blockBytes;
    void *mem = malloc(bytes);
    if (!mem) { fprintf(stderr, "out of memory (%zu bytes)\n", bytes); return 1; }
    uint64_t r = 88172645463325252ull;
    for (size_t i = 0; i < bytes / 8; i++) { r ^= r << 13; r ^= r >> 7; r ^= r << 17; ((uint64_t *) mem)[i] = r; }
    if (q8) W8 = mem; else W = mem;
    for (long i = 0; i < ROWS * BLOCKS; i++) {
        uint16_t d = _cvtss_sh(0.01f, 0);
        memcpy((char *) mem + i * blockBytes, &d, 2);
    }
    for (int i = 0; i < COLS; i++) X[i] = (float) ((i * 7919) % 200 - 100) / 100.0f;
    for (int b = 0; b < BLOCKS; b++) {
        XQ[b].d = 1.0f / 127;
        for (int k = 0; k < 32; k++) XQ[b].qs[k] = (int8_t) (X[b * 32 + k] * 127);
    }
    // small: the first 1024 rows (2.3 MB, cache resident) repeated
    if (!q8) { // the same weights repacked into tiles of 16 rows (the layout of Q4Tiles with 256-bit vectors)
        T = calloc((size_t) (ROWS + 15) / 16 * 16 * BLOCKS, 18); // the last tile padded to 16 rows
        if (!T) { fprintf(stderr, "out of memory (%zu bytes)\n", bytes); return 1; }
        for (long r = 0; r < ROWS; r++) {
            int i = r % 16, lane = i < 8 ? 2 * i : 2 * (i - 8) + 1;
            for (int b = 0; b < BLOCKS; b++) {
                uint8_t *dst = T + ((size_t) (r / 16) * BLOCKS + b) * 16 * 18;
                memcpy(dst + 2 * lane, &W[r * BLOCKS + b].d, 2);
                for (int j = 0; j < 16; j++) dst[32 + 16 * j + lane] = W[r * BLOCKS + b].qs[j];
            }
        }
        for (int b = 0; b < BLOCKS; b++) { XSUM[b] = 0; for (int k = 0; k < 32; k++) XSUM[b] += XQ[b].qs[k]; }
        // the tile kernel computes the same dot products as the int8 one (checked on the first 64 rows)
        for (long r = 0; r < 64; r += 16) {
            float y[16];
            tile_int16(T + (size_t) r * BLOCKS * 18, y);
            for (int i = 0; i < 16; i++) {
                float ref = dot_int8(W + (r + i) * BLOCKS);
                if (y[i] - ref > 1e-3f * (1 + (ref < 0 ? -ref : ref)) || ref - y[i] > 1e-3f * (1 + (ref < 0 ? -ref : ref))) {
                    fprintf(stderr, "int16 tiles row %ld: %g, int8 %g\n", r + i, y[i], ref);
                    return 1;
                }
            }
        }
    }
    const char *names[] = {"read", "int8 (llama.cpp scheme)", "int16 (x as int8)", "float (Owl2J scheme)", "int16 tiles (Q4Tiles)"};
    const char *names8[] = {"read", "int8 (llama.cpp scheme)", "float (Owl2J scheme)"};
    printf("%s matrix %ld x %d = %.2f GB; GB/s of weight data consumed (token/s = GB/s / %.2f)\n", q8 ? "Q8_0" : "Q4_0", ROWS, COLS, bytes / 1e9, bytes / 1e9);
    printf("%-26s %12s %12s %14s %14s\n", "kernel", "1 thr DRAM", "2 thr DRAM", "1 thr cached", "2 thr cached");
    for (int k = 0; k < (q8 ? 3 : 5); k++) {
        double best[4] = {0, 0, 0, 0};
        for (int rep = 0; rep < 3; rep++) {
            for (int t = 1; t <= 2; t++) {
                double s = pass(k, t, ROWS, 1);
                if (bytes / s / 1e9 > best[t - 1]) best[t - 1] = bytes / s / 1e9;
                long small = 1024;
                size_t sb = small * BLOCKS * blockBytes;
                int reps = 400;
                double g = sb * (double) reps / pass(k, t, small, reps) / 1e9;
                if (g > best[t + 1]) best[t + 1] = g;
            }
        }
        printf("%-26s %12.1f %12.1f %14.1f %14.1f\n", q8 ? names8[k] : names[k], best[0], best[1], best[2], best[3]);
    }
    return 0;
}
