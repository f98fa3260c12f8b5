// Read bandwidth of one or two threads (argument, default 2), each streaming one contiguous share of a 1 GiB buffer
// with four independent accumulators and aligned loads (256-bit, or 512-bit when built with -DW512 -mavx512f).
// Written for Owl2J as the upper bound of what the decode kernels could stream on this machine; q4_ceiling.c's
// "read" column walks the same bytes row by row and measures less. Prints the GB/s of ten passes, then the best
// of them as a line "TSV<tab>read<tab>-<tab>read<tab>bits<tab>threads<tab>GB/s<tab>GB/s" (run.sh's format).
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static size_t N;
static long THREADS;
static char *buf;
static volatile long sink;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static void *work(void *arg) {
    size_t half = N / THREADS; // this thread's share
    const char *p = buf + (size_t) arg * half;
#ifdef W512
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < half; i += 256) {
        a0 = _mm512_add_epi64(a0, _mm512_load_si512(p + i));
        a1 = _mm512_add_epi64(a1, _mm512_load_si512(p + i + 64));
        a2 = _mm512_add_epi64(a2, _mm512_load_si512(p + i + 128));
        a3 = _mm512_add_epi64(a3, _mm512_load_si512(p + i + 192));
    }
    sink += _mm512_reduce_add_epi64(_mm512_add_epi64(_mm512_add_epi64(a0, a1), _mm512_add_epi64(a2, a3)));
#else
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (size_t i = 0; i < half; i += 128) {
        a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *) (p + i)));
        a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *) (p + i + 32)));
        a2 = _mm256_add_epi64(a2, _mm256_load_si256((const __m256i *) (p + i + 64)));
        a3 = _mm256_add_epi64(a3, _mm256_load_si256((const __m256i *) (p + i + 96)));
    }
    sink += _mm256_extract_epi64(_mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)), 0);
#endif
    return NULL;
}

int main(int argc, char **argv) {
    THREADS = argc > 1 ? atol(argv[1]) : 2;
    if (THREADS < 1 || THREADS > 2) { fprintf(stderr, "usage: read_ceiling [1|2]\n"); return 1; }
    N = (size_t) 1 << 30;
    buf = aligned_alloc(4096, N);
    if (!buf) { fprintf(stderr, "out of memory\n"); return 1; }
    for (size_t i = 0; i < N / 8; i++) ((uint64_t *) buf)[i] = i * 0x9E3779B97F4A7C15ull;
    double best = 0;
    for (int pass = 0; pass < 10; pass++) {
        double t0 = now();
        pthread_t t[2];
        for (long i = 0; i < THREADS; i++) pthread_create(&t[i], NULL, work, (void *) i);
        for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
        double g = N / (now() - t0) / 1e9;
        if (g > best) best = g;
        printf("%.1f ", g);
    }
    printf("GB/s\n");
#ifdef W512
    const char *bits = "512";
#else
    const char *bits = "256";
#endif
    printf("TSV\tread\t-\tread\t%s\t%ld\t%.2f\tGB/s\n", bits, THREADS, best);
    return 0;
}
