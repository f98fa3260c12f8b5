// What two cores can do with Q4_0 decode in native code, as a yardstick for the Java kernels (docs/performance-log.md).
// Not part of the product: a measurement, built and run by run.sh. Written for this project (no code copied).
//
// Usage: q4_ceiling [q4_0|q8_0] [weights]. Streams a Q4_0 (or Q8_0) matrix as large as the 7B decoder
// (6.48e9 weights: 3.65 GB as Q4_0, 6.9 GB as Q8_0) once per pass and reports the weight bytes consumed per
// second by each row-dot kernel on 1 and 2 threads, from DRAM and from a 1024-row slice that stays in cache.
// Schemes of the AVX2 build (int16, int16 tiles and lut are measured for Q4_0 only):
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
//            to int32 once per block by shifts, −8·Σx_q added, one float FMA per block and row;
//   lut    : table lookup instead of multiplication (T-MAC's scheme, see "The LUT scheme" below), vpshufb.
// Schemes of the AVX-512 build (-DW512; 512-bit vectors throughout):
//   read   : as above with 512-bit loads;
//   int8-vnni: what llama.cpp runs on an AVX512-VNNI CPU: two Q4_0 blocks per vector, nibbles to bytes (0..15),
//            vpdpbusd (four u8 × s8 products into each int32 lane) started from −8·Σx_q of each block, one
//            conversion and FMA per two blocks; for Q8_0 the signed weights get +128 (xor) and the start −128·Σx_q.
//            Built only with -mavx512vnni;
//   int8-vnni-tiles: the same instruction on Q4_0 repacked at load into tiles of 16 rows (one row per int32
//            lane, the form llama.cpp's load-time repack of Q4_0 takes): no per-row reduction, 16 scales per
//            conversion; four x_q broadcast per vpdpbusd. Built only with -mavx512vnni;
//   int16-tiles: Q4Tiles with 512-bit vectors: tiles of 32 rows, otherwise as above;
//   lut    : the LUT scheme with vpshufb on 64 rows per vector;
//   lut-vpermw: the LUT scheme with 16-bit tables and vpermw (a lane permute of 16-bit elements, AVX512BW; what
//            ShortVector.selectFrom compiles to), tiles of 32 rows.
// The LUT scheme (T-MAC, EuroSys 2025): x quantized to Q8_0 as for the integer schemes; per token, for every
// group of 4 consecutive x_q the 16 possible partial sums T[m] = Σ_{bit j of m set} x_q[4g+j] (|T| ≤ 508) are
// precomputed as int16 (not timed, like x's quantization: 128 blocks × 8 groups × 16 entries). The weights are
// split at load into 4 bit planes: bit p of the 4 weights of a group is a 4-bit index m, and Σ_j q_j x_j over the
// group is Σ_p 2^p T[m_p]. So every 4-bit index is one lookup of 4 weight bits, with no multiplication. Tables
// are kept exact as int16 (no int8 quantization of the tables as T-MAC does by default, so the result equals the
// int8 schemes' to the last bit of their int32 sums): with vpshufb (16 byte entries per 128-bit lane) as a
// low-byte and a high-byte table, two lookups whose results are interleaved to int16 (vpunpcklbw/vpunpckhbw);
// with vpermw as one 32-entry table of two groups. Lookups are added in int16 per bit plane (8 per block, at most
// 4064); per block the planes are combined as P0 + 2·P1 + 4·P2 + 8·(P3 − Σx_q), which is exactly Σ (q − 8)·x_q
// (Q4_0's −8 offset handled exactly: 8·b3 − 8 = 8·(b3 − 1), so the last plane takes Σx_q off; every partial sum
// stays within ±32512, no overflow), widened to int32, converted, one FMA per block with d_w·d_x.
// Layouts repacked at load (not timed), each the size of Q4_0 (18 bytes per 32 weights); one is held at a time.
// Every scheme is checked first on 256 rows against a scalar double-precision reference (float x for the float
// scheme, the Q8_0 x for the others): max |y − ref| / rms(ref) printed, above 1e-4 the program fails.
// Lines starting with "TSV<tab>" are the machine-readable figures (run.sh's format): decode, quant, scheme, bits,
// threads, DRAM GB/s, "GB/s".
// Build: gcc -O3 -mavx2 -mfma -mf16c -pthread -lm (AVX2 only, like the CI machine), or add
// -DW512 -mavx512f -mavx512bw -mavx512vl [-mavx512vnni] for the AVX-512 schemes.
#include <immintrin.h>
#include <math.h>
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
typedef struct { uint16_t d; int8_t qs[32]; } __attribute__((packed)) block_q8w;

static block_q4 *W;
static block_q8w *W8;
static long ROWS;
static float X[COLS];
static block_q8 XQ[BLOCKS];
static int XSUM[BLOCKS]; // Σ x_q per block
static volatile float SINK;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }

static inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

static inline float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_hadd_ps(s, s);
    s = _mm_hadd_ps(s, s);
    return _mm_cvtss_f32(s);
}

#ifndef W512
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

static float r_read4(const void *w) { return row_read(w, sizeof(block_q4) * BLOCKS); }
static float r_read8(const void *w) { return row_read(w, sizeof(block_q8w) * BLOCKS); }
static float r_int8(const void *w) { return dot_int8(w); }
static float r_int16(const void *w) { return dot_int16(w); }
static float r_float(const void *w) { return dot_float(w); }
static float r8_int8(const void *w) { return dot8_int8(w); }
static float r8_float(const void *w) { return dot8_float(w); }
#endif

// ---- the LUT scheme with vpshufb, 256-bit (AVX2 build) or 512-bit (W512 build); VB rows per tile ----
#ifdef W512
#define VB 64
#define FL 16
typedef __m512i vb_t;
typedef __m512 vf_t;
#define BLOAD(p) _mm512_loadu_si512((const void *) (p))
#define BCAST128(p) _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *) (p)))
#define BAND _mm512_and_si512
#define BSRL16 _mm512_srli_epi16
#define BSLL16 _mm512_slli_epi16
#define BSHUF _mm512_shuffle_epi8
#define BUNLO _mm512_unpacklo_epi8
#define BUNHI _mm512_unpackhi_epi8
#define BADD16 _mm512_add_epi16
#define BSUB16 _mm512_sub_epi16
#define BSET16 _mm512_set1_epi16
#define BSET8 _mm512_set1_epi8
#define BZERO _mm512_setzero_si512
#define LO16TO32(v) _mm512_cvtepi16_epi32(_mm512_castsi512_si256(v))
#define HI16TO32(v) _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(v, 1))
#define FCVT _mm512_cvtepi32_ps
#define FFMA _mm512_fmadd_ps
#define FMUL _mm512_mul_ps
#define FSET _mm512_set1_ps
#define FZERO _mm512_setzero_ps
#define FSTORE _mm512_storeu_ps
#define PH2PS(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (p)))
#else
#define VB 32
#define FL 8
typedef __m256i vb_t;
typedef __m256 vf_t;
#define BLOAD(p) _mm256_loadu_si256((const __m256i *) (p))
#define BCAST128(p) _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *) (p)))
#define BAND _mm256_and_si256
#define BSRL16 _mm256_srli_epi16
#define BSLL16 _mm256_slli_epi16
#define BSHUF _mm256_shuffle_epi8
#define BUNLO _mm256_unpacklo_epi8
#define BUNHI _mm256_unpackhi_epi8
#define BADD16 _mm256_add_epi16
#define BSUB16 _mm256_sub_epi16
#define BSET16 _mm256_set1_epi16
#define BSET8 _mm256_set1_epi8
#define BZERO _mm256_setzero_si256
#define LO16TO32(v) _mm256_cvtepi16_epi32(_mm256_castsi256_si128(v))
#define HI16TO32(v) _mm256_cvtepi16_epi32(_mm256_extracti128_si256(v, 1))
#define FCVT _mm256_cvtepi32_ps
#define FFMA _mm256_fmadd_ps
#define FMUL _mm256_mul_ps
#define FSET _mm256_set1_ps
#define FZERO _mm256_setzero_ps
#define FSTORE _mm256_storeu_ps
#define PH2PS(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *) (p)))
#endif

static int16_t TAB[BLOCKS][8][16];        // per block and group of 4 x_q: the 16 partial sums
static uint8_t TABB[BLOCKS][8][2][16];    // the same as a low-byte and a high-byte table (vpshufb)

// weight q (0..15) of element k of a Q4_0 block: low nibbles hold elements 0..15, high nibbles 16..31
static inline int q4_at(const block_q4 *b, int k) { return k < 16 ? b->qs[k] & 15 : b->qs[k - 16] >> 4; }

// The 4-bit index of bit plane p of group g (elements 4g .. 4g+3) of a block: bit j = bit p of weight 4g+j.
// Four consecutive bytes hold the group's four nibbles (low nibbles for g < 4, high for g >= 4). The four bits sit
// at bits 0, 8, 16, 24 after the shift and mask; the multiplication moves them to bits 24..27 without carries (every
// other product lands on a distinct bit below 24 or above 31). pext would do it in one instruction, but it is
// microcoded and slow on AMD before Zen 3, and the repack runs 6.5e9 times for the 7B size.
static inline unsigned plane_index(const block_q4 *b, int g, int p) {
    uint32_t u;
    memcpy(&u, b->qs + 4 * (g & 3), 4);
    return ((u >> (p + (g >= 4 ? 4 : 0)) & 0x01010101u) * 0x01020408u) >> 24;
}

// The row of a 64/32-row LUT tile whose index byte sits at byte position (slot) s: vpunpcklbw gives the 16-bit
// results of byte positions 16k..16k+7 of each 128-bit lane k, vpunpckhbw those of 16k+8..16k+15, so slots are
// ordered such that the widened results come out as rows 0..VB-1.
static int lut_row_of_slot(int s) {
    int k = s / 16, e = s % 16;
    return e < 8 ? 8 * k + e : VB / 2 + 8 * k + (e - 8);
}

// Tile layout (VB rows): per block VB F16 scales in row order, then for bit plane p = 0..3 and group pair
// gp = 0..3 one vector of VB bytes, byte s = index of group 2gp | index of group 2gp+1 << 4 for row
// lut_row_of_slot(s). 2·VB + 16·VB bytes per block: 18 per row, the size of Q4_0.
static void repack_lut(uint8_t *dst, const block_q4 *w, long rows) {
    int slotOfRow[VB];
    for (int s = 0; s < VB; s++) slotOfRow[lut_row_of_slot(s)] = s;
    for (long r = 0; r < rows; r++) {
        int i = r % VB;
        for (int b = 0; b < BLOCKS; b++) {
            const block_q4 *blk = w + r * BLOCKS + b;
            uint8_t *t = dst + ((size_t) (r / VB) * BLOCKS + b) * VB * 18;
            memcpy(t + 2 * i, &blk->d, 2);
            for (int p = 0; p < 4; p++)
                for (int gp = 0; gp < 4; gp++)
                    t[2 * VB + (p * 4 + gp) * VB + slotOfRow[i]] =
                        plane_index(blk, 2 * gp, p) | plane_index(blk, 2 * gp + 1, p) << 4;
        }
    }
}

static void tile_lut(const uint8_t *t, float *y) {
    vf_t acc[4] = {FZERO(), FZERO(), FZERO(), FZERO()};
    const vb_t low = BSET8(0x0f);
    for (int b = 0; b < BLOCKS; b++, t += VB * 18) {
        const uint8_t *ix = t + 2 * VB;
        vb_t a[4][2];
        for (int p = 0; p < 4; p++) a[p][0] = a[p][1] = BZERO();
        for (int gp = 0; gp < 4; gp++) {
            vb_t l0 = BCAST128(TABB[b][2 * gp][0]), h0 = BCAST128(TABB[b][2 * gp][1]);
            vb_t l1 = BCAST128(TABB[b][2 * gp + 1][0]), h1 = BCAST128(TABB[b][2 * gp + 1][1]);
            for (int p = 0; p < 4; p++) {
                vb_t w = BLOAD(ix + (p * 4 + gp) * VB);
                vb_t i0 = BAND(w, low), i1 = BAND(BSRL16(w, 4), low);
                vb_t x0 = BSHUF(l0, i0), y0 = BSHUF(h0, i0), x1 = BSHUF(l1, i1), y1 = BSHUF(h1, i1);
                a[p][0] = BADD16(a[p][0], BADD16(BUNLO(x0, y0), BUNLO(x1, y1)));
                a[p][1] = BADD16(a[p][1], BADD16(BUNHI(x0, y0), BUNHI(x1, y1)));
            }
        }
        const vb_t s = BSET16((short) XSUM[b]);
        const vf_t dx = FSET(XQ[b].d);
        for (int h = 0; h < 2; h++) {
            vb_t v = BADD16(BADD16(a[0][h], BSLL16(a[1][h], 1)),
                            BADD16(BSLL16(a[2][h], 2), BSLL16(BSUB16(a[3][h], s), 3)));
            acc[2 * h] = FFMA(FCVT(LO16TO32(v)), FMUL(PH2PS(t + 2 * FL * 2 * h), dx), acc[2 * h]);
            acc[2 * h + 1] = FFMA(FCVT(HI16TO32(v)), FMUL(PH2PS(t + 2 * FL * (2 * h + 1)), dx), acc[2 * h + 1]);
        }
    }
    for (int k = 0; k < 4; k++) FSTORE(y + k * FL, acc[k]);
}

#ifdef W512
// ---- 512-bit schemes ----
static float row_read512(const void *w, size_t rowBytes) {
    const char *p = w;
    __m512i acc = _mm512_setzero_si512();
    for (size_t i = 0; i < rowBytes; i += 64) acc = _mm512_add_epi64(acc, _mm512_loadu_si512((const void *) (p + i)));
    return (float) _mm512_reduce_add_epi64(acc);
}
static float r_read4(const void *w) { return row_read512(w, sizeof(block_q4) * BLOCKS); }
static float r_read8(const void *w) { return row_read512(w, sizeof(block_q8w) * BLOCKS); }

#ifdef __AVX512VNNI__
static int8_t XQS[COLS] __attribute__((aligned(64))); // x_q contiguous
static __m512i OFF4[BLOCKS / 2], OFF8[BLOCKS / 2];    // vpdpbusd start: lane 0 / 8 = −8 (−128) · Σx_q of the block
static __m512 DX2[BLOCKS / 2];                        // d_x of two blocks, 8 lanes each

static inline __m512 two_scales(uint16_t d0, uint16_t d1) {
    return _mm512_cvtph_ps(_mm256_set_m128i(_mm_set1_epi16((short) d1), _mm_set1_epi16((short) d0)));
}

// Σ over blocks b and b+1 of (Σ q·x_q − 8·Σx_q) as int32 lanes (8 per block), converted and scaled by d_w·d_x
static inline __m512 vnni_pair(const block_q4 *w, int b, __m512i low) {
    __m128i p0 = _mm_loadu_si128((const __m128i *) w[b].qs), p1 = _mm_loadu_si128((const __m128i *) w[b + 1].qs);
    __m256i q0 = _mm256_set_m128i(_mm_srli_epi16(p0, 4), p0), q1 = _mm256_set_m128i(_mm_srli_epi16(p1, 4), p1);
    __m512i q = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1), low);
    __m512i s = _mm512_dpbusd_epi32(OFF4[b / 2], q, _mm512_load_si512((const void *) (XQS + 32 * b)));
    return _mm512_mul_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(two_scales(w[b].d, w[b + 1].d), DX2[b / 2]));
}

static float r_vnni(const void *wv) {
    const block_q4 *w = wv;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(); // two chains of four blocks
    const __m512i low = _mm512_set1_epi8(0x0f);
    for (int b = 0; b < BLOCKS; b += 4) {
        acc0 = _mm512_add_ps(acc0, vnni_pair(w, b, low));
        acc1 = _mm512_add_ps(acc1, vnni_pair(w, b + 2, low));
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

// int8 vpdpbusd on tiles of 16 rows (one int32 lane per row), the layout llama.cpp-style load-time repacking gives:
// per block 16 F16 scales in row order, then 4 groups of 64 bytes, group j holding bytes 4j .. 4j+3 of each row's
// Q4_0 block in the row's 32-bit lane (low nibbles: elements 4j .. 4j+3, high nibbles: 16+4j .. 16+4j+3). Per
// group: and / shift+and, two vpdpbusd with four x_q broadcast to every lane; four independent sums per block,
// the first started from −8·Σx_q; one conversion and FMA per block.
static void repack_vnni_tiles(uint8_t *dst, const block_q4 *w, long rows) {
    for (long r = 0; r < rows; r++) {
        int i = r % 16;
        for (int b = 0; b < BLOCKS; b++) {
            uint8_t *t = dst + ((size_t) (r / 16) * BLOCKS + b) * 16 * 18;
            memcpy(t + 2 * i, &w[r * BLOCKS + b].d, 2);
            for (int j = 0; j < 4; j++) memcpy(t + 32 + 64 * j + 4 * i, w[r * BLOCKS + b].qs + 4 * j, 4);
        }
    }
}

static void tile_vnni(const uint8_t *t, float *y) {
    __m512 acc = _mm512_setzero_ps();
    const __m512i low = _mm512_set1_epi8(0x0f);
    for (int b = 0; b < BLOCKS; b++, t += 16 * 18) {
        const int32_t *x4 = (const int32_t *) (XQS + 32 * b); // four x_q at a time
        __m512i s[4] = {_mm512_set1_epi32(-8 * XSUM[b]), _mm512_setzero_si512(), _mm512_setzero_si512(),
                        _mm512_setzero_si512()};
        for (int j = 0; j < 4; j++) {
            __m512i w = _mm512_loadu_si512((const void *) (t + 32 + 64 * j));
            s[j & 1] = _mm512_dpbusd_epi32(s[j & 1], _mm512_and_si512(w, low), _mm512_set1_epi32(x4[j]));
            s[2 + (j & 1)] = _mm512_dpbusd_epi32(s[2 + (j & 1)], _mm512_and_si512(_mm512_srli_epi16(w, 4), low),
                                                 _mm512_set1_epi32(x4[4 + j]));
        }
        __m512i sum = _mm512_add_epi32(_mm512_add_epi32(s[0], s[1]), _mm512_add_epi32(s[2], s[3]));
        __m512 d = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) t)), _mm512_set1_ps(XQ[b].d));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(sum), d, acc);
    }
    _mm512_storeu_ps(y, acc);
}

static float r8_vnni(const void *wv) {
    const block_q8w *w = wv;
    __m512 acc = _mm512_setzero_ps();
    const __m512i flip = _mm512_set1_epi8((char) 0x80);
    for (int b = 0; b < BLOCKS; b += 2) {
        __m256i q0 = _mm256_loadu_si256((const __m256i *) w[b].qs), q1 = _mm256_loadu_si256((const __m256i *) w[b + 1].qs);
        __m512i q = _mm512_xor_si512(_mm512_inserti64x4(_mm512_castsi256_si512(q0), q1, 1), flip);
        __m512i s = _mm512_dpbusd_epi32(OFF8[b / 2], q, _mm512_load_si512((const void *) (XQS + 32 * b)));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(s), _mm512_mul_ps(two_scales(w[b].d, w[b + 1].d), DX2[b / 2]), acc);
    }
    return _mm512_reduce_add_ps(acc);
}
#endif

// Q4Tiles with 512-bit vectors: 32 rows, per block 32 F16 scales (row i in 16-bit lane 2i for i < 16,
// 2(i-16)+1 otherwise), then 16 groups of 32 bytes (group j: byte j of each row).
static void tile_int16_512(const uint8_t *t, float *y) {
    __m512 accE = _mm512_setzero_ps(), accO = _mm512_setzero_ps();
    const __m512i low = _mm512_set1_epi16(0x0f);
    for (int b = 0; b < BLOCKS; b++, t += 32 * 18) {
        __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
        for (int j = 0; j < 16; j++) {
            __m512i w = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *) (t + 64 + 32 * j)));
            lo = _mm512_add_epi16(lo, _mm512_mullo_epi16(_mm512_and_si512(w, low), _mm512_set1_epi16(XQ[b].qs[j])));
            hi = _mm512_add_epi16(hi, _mm512_mullo_epi16(_mm512_srli_epi16(w, 4), _mm512_set1_epi16(XQ[b].qs[16 + j])));
        }
        __m512i off = _mm512_set1_epi32(-8 * XSUM[b]);
        __m512i se = _mm512_add_epi32(_mm512_add_epi32(_mm512_srai_epi32(_mm512_slli_epi32(lo, 16), 16),
                                                       _mm512_srai_epi32(_mm512_slli_epi32(hi, 16), 16)), off);
        __m512i so = _mm512_add_epi32(_mm512_add_epi32(_mm512_srai_epi32(lo, 16), _mm512_srai_epi32(hi, 16)), off);
        __m512i sc = _mm512_loadu_si512((const void *) t);
        __m512 dx = _mm512_set1_ps(XQ[b].d);
        __m512 de = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(sc)), dO = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(sc, 16)));
        accE = _mm512_fmadd_ps(_mm512_cvtepi32_ps(se), _mm512_mul_ps(de, dx), accE);
        accO = _mm512_fmadd_ps(_mm512_cvtepi32_ps(so), _mm512_mul_ps(dO, dx), accO);
    }
    _mm512_storeu_ps(y, accE);
    _mm512_storeu_ps(y + 16, accO);
}

// LUT with vpermw: tiles of 32 rows; per block 32 F16 scales in row order, then for plane p and group pair gp one
// group of 32 bytes (row i at byte i: index of group 2gp | index of group 2gp+1 << 4). The table of a group pair
// is one vector of 32 int16: T of group 2gp in elements 0..15, of 2gp+1 in 16..31; the byte zero-extended to
// 16 bits gives index (w & 15) for the first and (w >> 4) | 16 for the second.
static int16_t TABW[BLOCKS][4][32] __attribute__((aligned(64)));

static void repack_lutw(uint8_t *dst, const block_q4 *w, long rows) {
    for (long r = 0; r < rows; r++) {
        int i = r % 32;
        for (int b = 0; b < BLOCKS; b++) {
            const block_q4 *blk = w + r * BLOCKS + b;
            uint8_t *t = dst + ((size_t) (r / 32) * BLOCKS + b) * 32 * 18;
            memcpy(t + 2 * i, &blk->d, 2);
            for (int p = 0; p < 4; p++)
                for (int gp = 0; gp < 4; gp++)
                    t[64 + (p * 4 + gp) * 32 + i] = plane_index(blk, 2 * gp, p) | plane_index(blk, 2 * gp + 1, p) << 4;
        }
    }
}

static void tile_lutw(const uint8_t *t, float *y) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    const __m512i low = _mm512_set1_epi16(0x0f), sixteen = _mm512_set1_epi16(16);
    for (int b = 0; b < BLOCKS; b++, t += 32 * 18) {
        __m512i a[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
        for (int gp = 0; gp < 4; gp++) {
            __m512i tv = _mm512_load_si512((const void *) TABW[b][gp]);
            for (int p = 0; p < 4; p++) {
                __m512i w = _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *) (t + 64 + (p * 4 + gp) * 32)));
                __m512i i0 = _mm512_and_si512(w, low), i1 = _mm512_or_si512(_mm512_srli_epi16(w, 4), sixteen);
                a[p] = _mm512_add_epi16(a[p], _mm512_add_epi16(_mm512_permutexvar_epi16(i0, tv), _mm512_permutexvar_epi16(i1, tv)));
            }
        }
        __m512i v = _mm512_add_epi16(_mm512_add_epi16(a[0], _mm512_slli_epi16(a[1], 1)),
                                     _mm512_add_epi16(_mm512_slli_epi16(a[2], 2),
                                                      _mm512_slli_epi16(_mm512_sub_epi16(a[3], _mm512_set1_epi16((short) XSUM[b])), 3)));
        __m512 dx = _mm512_set1_ps(XQ[b].d);
        acc0 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(_mm512_castsi512_si256(v))),
                               _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) t)), dx), acc0);
        acc1 = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(v, 1))),
                               _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *) (t + 32))), dx), acc1);
    }
    _mm512_storeu_ps(y, acc0);
    _mm512_storeu_ps(y + 16, acc1);
}
#endif

// Q4Tiles' layout for R rows (16 in the AVX2 build, 32 in the AVX-512 one): per block R F16 scales (row i in
// 16-bit lane 2i for i < R/2, 2(i-R/2)+1 otherwise), then 16 groups of R bytes (group j: byte j of each row).
static void repack_tiles(uint8_t *dst, const block_q4 *w, long rows, int R) {
    for (long r = 0; r < rows; r++) {
        int i = r % R, lane = i < R / 2 ? 2 * i : 2 * (i - R / 2) + 1;
        for (int b = 0; b < BLOCKS; b++) {
            uint8_t *t = dst + ((size_t) (r / R) * BLOCKS + b) * R * 18;
            memcpy(t + 2 * lane, &w[r * BLOCKS + b].d, 2);
            for (int j = 0; j < 16; j++) t[2 * R + R * j + lane] = w[r * BLOCKS + b].qs[j];
        }
    }
}
#ifndef W512
static void repack_tiles16(uint8_t *dst, const block_q4 *w, long rows) { repack_tiles(dst, w, rows, 16); }
#else
static void repack_tiles32(uint8_t *dst, const block_q4 *w, long rows) { repack_tiles(dst, w, rows, 32); }
#endif

// A scheme: a row-dot kernel on the Q4_0/Q8_0 rows, or a tile kernel on R rows of a layout repacked at load.
typedef struct {
    const char *name, *tsv; // as printed, and the TSV scheme name
    int q8, floatx;         // for Q8_0; checked against the reference with float x (else Q8_0 x)
    float (*row)(const void *w);
    void (*tile)(const uint8_t *t, float *y);
    void (*repack)(uint8_t *dst, const block_q4 *w, long rows);
    int R;
} scheme;

static const scheme SCHEMES[] = {
#ifndef W512
    {"read", "read", 0, 0, r_read4, 0, 0, 1},
    {"int8 (llama.cpp scheme)", "int8", 0, 0, r_int8, 0, 0, 1},
    {"int16 (x as int8)", "int16", 0, 0, r_int16, 0, 0, 1},
    {"float (Owl2J scheme)", "float", 0, 1, r_float, 0, 0, 1},
    {"int16 tiles (Q4Tiles)", "int16-tiles", 0, 0, 0, tile_int16, repack_tiles16, 16},
    {"lut (vpshufb, int16 T)", "lut", 0, 0, 0, tile_lut, repack_lut, VB},
    {"read", "read", 1, 0, r_read8, 0, 0, 1},
    {"int8 (llama.cpp scheme)", "int8", 1, 0, r8_int8, 0, 0, 1},
    {"float (Owl2J scheme)", "float", 1, 1, r8_float, 0, 0, 1},
#else
    {"read", "read", 0, 0, r_read4, 0, 0, 1},
#ifdef __AVX512VNNI__
    {"int8 vpdpbusd (VNNI)", "int8-vnni", 0, 0, r_vnni, 0, 0, 1},
    {"int8 vpdpbusd, tiles", "int8-vnni-tiles", 0, 0, 0, tile_vnni, repack_vnni_tiles, 16},
#endif
    {"int16 tiles (Q4Tiles)", "int16-tiles", 0, 0, 0, tile_int16_512, repack_tiles32, 32},
    {"lut (vpshufb, int16 T)", "lut", 0, 0, 0, tile_lut, repack_lut, VB},
    {"lut (vpermw, int16 T)", "lut-vpermw", 0, 0, 0, tile_lutw, repack_lutw, 32},
    {"read", "read", 1, 0, r_read8, 0, 0, 1},
#ifdef __AVX512VNNI__
    {"int8 vpdpbusd (VNNI)", "int8-vnni", 1, 0, r8_vnni, 0, 0, 1},
#endif
#endif
};

static const scheme *CUR;
static uint8_t *LAYOUT; // the current tile scheme's repacked weights
static size_t ROWBYTES;

typedef struct { int reps; long r0, r1; } job;

static void *work(void *arg) {
    job *j = arg;
    float s = 0;
    const scheme *sc = CUR;
    for (int rep = 0; rep < j->reps; rep++) {
        if (sc->tile) {
            float y[64];
            for (long r = j->r0; r < j->r1; r++) {
                if (r % sc->R == 0) { // one tile at a time
                    sc->tile(LAYOUT + (size_t) r * BLOCKS * 18, y);
                    s += y[0];
                }
            }
        } else {
            const char *base = W8 ? (const char *) W8 : (const char *) W;
            for (long r = j->r0; r < j->r1; r++) s += sc->row(base + r * ROWBYTES);
        }
    }
    SINK = s;
    return NULL;
}

static double pass(int threads, long rows, int reps) {
    pthread_t t[8];
    job jobs[8];
    double t0 = now();
    for (int i = 0; i < threads; i++) {
        jobs[i] = (job) {reps, rows * i / threads, rows * (i + 1) / threads};
        pthread_create(&t[i], NULL, work, &jobs[i]);
    }
    for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
    return now() - t0;
}

// y of the first `rows` rows by the current scheme
static void run_rows(float *y, long rows) {
    const scheme *sc = CUR;
    const char *base = W8 ? (const char *) W8 : (const char *) W;
    for (long r = 0; r < rows; r += sc->R) {
        if (sc->tile) sc->tile(LAYOUT + (size_t) r * BLOCKS * 18, y + r);
        else y[r] = sc->row(base + r * ROWBYTES);
    }
}

// scalar double-precision reference of row r, on float x or on the Q8_0 x
static double reference(long r, int floatx) {
    double s = 0;
    for (int b = 0; b < BLOCKS; b++) {
        double blk = 0;
        for (int k = 0; k < 32; k++) {
            int q = W8 ? W8[r * BLOCKS + b].qs[k] : q4_at(W + r * BLOCKS + b, k) - 8;
            blk += q * (floatx ? (double) X[b * 32 + k] : (double) XQ[b].qs[k] * XQ[b].d);
        }
        s += blk * h2f(W8 ? W8[r * BLOCKS + b].d : W[r * BLOCKS + b].d);
    }
    return s;
}

#define CHECK_ROWS 256

int main(int argc, char **argv) {
    int q8 = argc > 1 && strcmp(argv[1], "q8_0") == 0;
    double weights = argc > 2 ? atof(argv[2]) : 6.48e9; // decoder weights read per token (7B: 32 x 202.4M)
    ROWS = (long) (weights / COLS);
    if (ROWS < 1024) { fprintf(stderr, "at least %d weights\n", 1024 * COLS); return 1; }
    size_t blockBytes = q8 ? sizeof(block_q8w) : sizeof(block_q4);
    size_t bytes = (size_t) ROWS * BLOCKS * blockBytes;
    ROWBYTES = BLOCKS * blockBytes;
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
        XSUM[b] = 0;
        for (int k = 0; k < 32; k++) { // x_q rounded, as Q8_0 does
            XQ[b].qs[k] = (int8_t) lrintf(X[b * 32 + k] * 127);
            XSUM[b] += XQ[b].qs[k];
        }
        // the LUT tables: T[m] = Σ_{bit j of m} x_q[4g + j]
        for (int g = 0; g < 8; g++) {
            for (int m = 0; m < 16; m++) {
                int t = 0;
                for (int j = 0; j < 4; j++) if (m >> j & 1) t += XQ[b].qs[4 * g + j];
                TAB[b][g][m] = (int16_t) t;
                TABB[b][g][0][m] = (uint8_t) (t & 0xff);
                TABB[b][g][1][m] = (uint8_t) ((t >> 8) & 0xff);
#ifdef W512
                TABW[b][g / 2][16 * (g % 2) + m] = (int16_t) t;
#endif
            }
        }
    }
#if defined(W512) && defined(__AVX512VNNI__)
    for (int b = 0; b < BLOCKS; b += 2) {
        int32_t o4[16] = {0}, o8[16] = {0};
        o4[0] = -8 * XSUM[b]; o4[8] = -8 * XSUM[b + 1];
        o8[0] = -128 * XSUM[b]; o8[8] = -128 * XSUM[b + 1];
        OFF4[b / 2] = _mm512_loadu_si512(o4);
        OFF8[b / 2] = _mm512_loadu_si512(o8);
        DX2[b / 2] = _mm512_set_ps(XQ[b + 1].d, XQ[b + 1].d, XQ[b + 1].d, XQ[b + 1].d, XQ[b + 1].d, XQ[b + 1].d,
                                   XQ[b + 1].d, XQ[b + 1].d, XQ[b].d, XQ[b].d, XQ[b].d, XQ[b].d, XQ[b].d, XQ[b].d,
                                   XQ[b].d, XQ[b].d);
    }
    for (int i = 0; i < COLS; i++) XQS[i] = XQ[i / 32].qs[i % 32];
#endif
    const char *bits = VB == 64 ? "512" : "256";
    double ref[2][CHECK_ROWS], rms[2] = {0, 0};
    for (long i = 0; i < CHECK_ROWS; i++) {
        for (int f = 0; f < 2; f++) { ref[f][i] = reference(i, f); rms[f] += ref[f][i] * ref[f][i]; }
    }
    for (int f = 0; f < 2; f++) rms[f] = sqrt(rms[f] / CHECK_ROWS);
    if (!q8) {
        // T-MAC's default keeps its tables as int8; here each block's 8 tables scaled by max|T| / 127 and rounded,
        // emulated in scalar code (not timed), to say what that would cost against the exact int16 tables
        double e8[2] = {0, 0}, eq[2] = {0, 0}; // max, then sum of squares
        for (long i = 0; i < CHECK_ROWS; i++) {
            double y8 = 0;
            for (int b = 0; b < BLOCKS; b++) {
                int mx = 0;
                for (int g = 0; g < 8; g++)
                    for (int m = 0; m < 16; m++) mx = abs(TAB[b][g][m]) > mx ? abs(TAB[b][g][m]) : mx;
                double sc = mx ? mx / 127.0 : 1, sum = 0;
                for (int g = 0; g < 8; g++)
                    for (int p = 0; p < 4; p++) sum += (1 << p) * lrint(TAB[b][g][plane_index(W + i * BLOCKS + b, g, p)] / sc) * sc;
                y8 += h2f(W[i * BLOCKS + b].d) * XQ[b].d * (sum - 8.0 * XSUM[b]);
            }
            double a = fabs(y8 - ref[1][i]), q = fabs(ref[0][i] - ref[1][i]);
            e8[0] = a > e8[0] ? a : e8[0];
            eq[0] = q > eq[0] ? q : eq[0];
            e8[1] += a * a;
            eq[1] += q * q;
        }
        printf("accuracy against float x (%d rows; max |y - ref| / rms(ref), rms(y - ref) / rms(ref)): x as Q8_0 (the int8,"
               " int16 and lut schemes) %.1e, %.1e; lut with int8 tables (T-MAC's default; per block scaled by"
               " max|T| / 127, emulated) %.1e, %.1e\n", CHECK_ROWS, eq[0] / rms[1], sqrt(eq[1] / CHECK_ROWS) / rms[1],
               e8[0] / rms[1], sqrt(e8[1] / CHECK_ROWS) / rms[1]);
    }
    printf("%s matrix %ld x %d = %.2f GB, %s-bit vectors; GB/s of weight data consumed (token/s = GB/s / %.2f)\n",
           q8 ? "Q8_0" : "Q4_0", ROWS, COLS, bytes / 1e9, bits, bytes / 1e9);
    printf("%-26s %12s %12s %14s %14s %14s\n", "kernel", "1 thr DRAM", "2 thr DRAM", "1 thr cached", "2 thr cached",
           "max err / rms");
    int failed = 0;
    for (size_t k = 0; k < sizeof SCHEMES / sizeof SCHEMES[0]; k++) {
        const scheme *sc = &SCHEMES[k];
        if (sc->q8 != q8) continue;
        CUR = sc;
        if (sc->repack) {
            size_t tiled = (size_t) (ROWS + sc->R - 1) / sc->R * sc->R; // the last tile padded with zero rows
            LAYOUT = calloc(tiled * BLOCKS, 18);
            if (!LAYOUT) { fprintf(stderr, "out of memory (%zu bytes)\n", tiled * BLOCKS * 18); return 1; }
            sc->repack(LAYOUT, W, ROWS);
        }
        double err = 0;
        if (sc->row != r_read4 && sc->row != r_read8) {
            float y[CHECK_ROWS];
            run_rows(y, CHECK_ROWS);
            for (int i = 0; i < CHECK_ROWS; i++) {
                double e = fabs(y[i] - ref[sc->floatx][i]) / rms[sc->floatx];
                if (!(e <= err)) err = isnan(e) ? INFINITY : e;
            }
        }
        char check[32];
        if (sc->row == r_read4 || sc->row == r_read8) snprintf(check, sizeof check, "-");
        else snprintf(check, sizeof check, "%.1e%s", err, err <= 1e-4 ? "" : " FAILED");
        if (!(err <= 1e-4)) {
            printf("%-26s %12s %12s %14s %14s %14s\n", sc->name, "-", "-", "-", "-", check);
            failed = 1;
        } else {
            double best[4] = {0, 0, 0, 0};
            for (int rep = 0; rep < 3; rep++) {
                for (int t = 1; t <= 2; t++) {
                    double s = pass(t, ROWS, 1);
                    if (bytes / s / 1e9 > best[t - 1]) best[t - 1] = bytes / s / 1e9;
                    long small = 1024; // 2.3 MB as Q4_0, cache resident, repeated
                    size_t sb = small * BLOCKS * blockBytes;
                    int reps = 400;
                    double g = sb * (double) reps / pass(t, small, reps) / 1e9;
                    if (g > best[t + 1]) best[t + 1] = g;
                }
            }
            printf("%-26s %12.1f %12.1f %14.1f %14.1f %14s\n", sc->name, best[0], best[1], best[2], best[3], check);
            for (int t = 1; t <= 2; t++)
                printf("TSV\tdecode\t%s\t%s\t%s\t%d\t%.2f\tGB/s\n", q8 ? "q8_0" : "q4_0", sc->tsv, bits, t, best[t - 1]);
        }
        fflush(stdout);
        free(LAYOUT);
        LAYOUT = NULL;
    }
    return failed;
}
