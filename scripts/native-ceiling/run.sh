#!/usr/bin/env bash
# Native yardsticks for the CPU kernels (docs/performance-log.md, "What two cores can do" and "Prefill schemes in
# C"), C built with gcc, no Java. PARTS (default "decode prefill") picks what runs:
#   decode:  q4_ceiling.c built for AVX2 (no AVX-512, like the CI machine), run for Q4_0 and Q8_0 at the 7B decoder's
#            size (row-dot schemes: read, int8, int16, float, int16 tiles; GB/s of weights), then read_ceiling.c: two
#            threads reading contiguous halves of 1 GiB (the memory bandwidth itself). Needs about 7 GB of memory.
#   prefill: gemm_ceiling.c, the 7B prefill shapes (128 positions × 4096 against Q4_0 weights of 4096 × 4096 and
#            11008 × 4096, 1 and 2 threads) through the GEMM schemes float FMA outer product (Owl2J's today), int16
#            vpmullw, int8 vpmaddubsw and int8 vpdpbusd (VNNI, where the CPU has it); GFLOP/s and % of the FMA peak,
#            each scheme checked against a scalar reference first. Built for AVX2, and again for AVX-512 where
#            the CPU has avx512f and avx512bw. About 200 MB of memory, well under a minute on two idle cores.
# Usage: [PARTS=...] scripts/native-ceiling/run.sh [weights for decode, default 6.48e9]
set -euo pipefail
cd "$(dirname "$0")"
out="${TMPDIR:-/tmp}/owl2j-q4-ceiling"
parts="${PARTS:-decode prefill}"
if [[ " $parts " == *" decode "* ]]; then
  gcc -O3 -Wall -Wno-address-of-packed-member -mavx2 -mfma -mf16c -pthread -o "$out" q4_ceiling.c
  "$out" q4_0 "${1:-6.48e9}"
  "$out" q8_0 "${1:-6.48e9}"
  # plain contiguous reads, two threads: the bandwidth itself (AVX2, then AVX-512 where the CPU has it)
  gcc -O2 -mavx2 -pthread -o "$out-read" read_ceiling.c && echo "read, 256-bit: $("$out-read")"
  if grep -q avx512f /proc/cpuinfo; then
    gcc -O2 -mavx512f -DW512 -pthread -o "$out-read512" read_ceiling.c && echo "read, 512-bit: $("$out-read512")"
  fi
fi
if [[ " $parts " == *" prefill "* ]]; then
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  gcc -O3 -Wall -mavx2 -mfma -mf16c -pthread -o "$out-gemm" gemm_ceiling.c -lm && "$out-gemm"
  if grep -q avx512f /proc/cpuinfo && grep -q avx512bw /proc/cpuinfo; then
    echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
    gcc -O3 -Wall -DW512 -mavx512f -mavx512bw -mavx512vl -mavx2 -mfma -mf16c -pthread -o "$out-gemm512" gemm_ceiling.c -lm \
      && "$out-gemm512"
  fi
fi
