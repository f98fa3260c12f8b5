/*
 * Independent reference for Owl2J's Quantizer tests: llama.cpp's block-32 Q8_0 and Q4_0 formats, written from
 * ggml's quantize_row_q8_0_ref / quantize_row_q4_0_ref definitions (scale = F16 round-to-nearest-even, then
 * the quantized values). Writes, for a fixed pseudo-random set of rows:
 *   rows.f32   ROWS x COLS little-endian floats
 *   q8_0.bin   ROWS x (COLS/32) blocks of 34 bytes (F16 d, 32 x int8)
 *   q4_0.bin   ROWS x (COLS/32) blocks of 18 bytes (F16 d, 16 bytes: low nibble = elem j, high = elem j+16)
 * Build and run: scripts/quant/make-goldens.sh
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define QK 32
#define ROWS 24
#define COLS 256

/* FP32 -> FP16 bits, round to nearest even (what ggml's F16C / generic path produce). */
static uint16_t f32_to_f16(float f) {
    uint32_t x; memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t absx = x & 0x7fffffff;
    if (absx >= 0x7f800000) return (uint16_t)(sign | (absx > 0x7f800000 ? 0x7e00 : 0x7c00));
    if (absx >= 0x477ff000) return (uint16_t)(sign | 0x7c00); /* rounds to inf */
    if (absx < 0x38800000) { /* subnormal half (or zero) */
        float a; memcpy(&a, &absx, 4);
        /* a * 2^24 in [0, 1024): round to nearest even via rintf (default rounding mode) */
        uint32_t m = (uint32_t) rintf(a * 16777216.0f);
        return (uint16_t)(sign | m);
    }
    uint32_t mant = absx & 0x7fffff;
    uint32_t exp = (absx >> 23) - 127 + 15;
    uint32_t h = (exp << 10) | (mant >> 13);
    uint32_t rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1))) h++;
    return (uint16_t)(sign | h);
}

static void q8_0(const float *x, uint8_t *out) {
    float amax = 0;
    for (int j = 0; j < QK; j++) amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127;
    const float id = d ? 1.0f / d : 0.0f;
    uint16_t h = f32_to_f16(d);
    out[0] = h & 0xff; out[1] = h >> 8;
    for (int j = 0; j < QK; j++) out[2 + j] = (uint8_t)(int8_t) roundf(x[j] * id);
}

static void q4_0(const float *x, uint8_t *out) {
    float amax = 0, max = 0;
    for (int j = 0; j < QK; j++) {
        if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
    }
    const float d = max / -8;
    const float id = d ? 1.0f / d : 0.0f;
    uint16_t h = f32_to_f16(d);
    out[0] = h & 0xff; out[1] = h >> 8;
    for (int j = 0; j < QK / 2; j++) {
        const float x0 = x[j] * id;
        const float x1 = x[QK / 2 + j] * id;
        int xi0 = (int8_t)(x0 + 8.5f); if (xi0 > 15) xi0 = 15;
        int xi1 = (int8_t)(x1 + 8.5f); if (xi1 > 15) xi1 = 15;
        out[2 + j] = (uint8_t)(xi0 | (xi1 << 4));
    }
}

static uint64_t state = 0x853c49e6748fea9bULL;
static double uniform(void) { /* xorshift64*, [0,1) */
    state ^= state >> 12; state ^= state << 25; state ^= state >> 27;
    return (double)((state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : ".";
    static float rows[ROWS][COLS];
    for (int r = 0; r < ROWS; r++) {
        double scale = pow(10.0, -4 + 5 * uniform()); /* magnitudes from 1e-4 to 10 */
        for (int c = 0; c < COLS; c++) rows[r][c] = (float)(scale * (2 * uniform() - 1));
    }
    /* edge cases: an all-zero row, a row with one large outlier per block, a row of integers (ties in q8) */
    memset(rows[0], 0, sizeof rows[0]);
    for (int c = 0; c < COLS; c++) rows[1][c] = (c % QK == 5) ? -3.0f : (float)(0.01 * (2 * uniform() - 1));
    for (int c = 0; c < COLS; c++) rows[2][c] = (float)((c * 37) % 255 - 127);
    for (int c = 0; c < COLS; c++) rows[3][c] = (c % QK == 0) ? 8.0f : (float)(c % 17) - 8.0f;

    char path[4096];
    snprintf(path, sizeof path, "%s/rows.f32", dir);
    FILE *f = fopen(path, "wb"); fwrite(rows, sizeof(float), ROWS * COLS, f); fclose(f);

    snprintf(path, sizeof path, "%s/q8_0.bin", dir);
    f = fopen(path, "wb");
    for (int r = 0; r < ROWS; r++) for (int b = 0; b < COLS / QK; b++) { uint8_t blk[34]; q8_0(rows[r] + b * QK, blk); fwrite(blk, 1, 34, f); }
    fclose(f);

    snprintf(path, sizeof path, "%s/q4_0.bin", dir);
    f = fopen(path, "wb");
    for (int r = 0; r < ROWS; r++) for (int b = 0; b < COLS / QK; b++) { uint8_t blk[18]; q4_0(rows[r] + b * QK, blk); fwrite(blk, 1, 18, f); }
    fclose(f);
    return 0;
}
