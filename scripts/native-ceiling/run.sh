#!/usr/bin/env bash
# Native yardstick for the decode kernels (docs/performance-log.md, "What two cores can do"): builds q4_ceiling.c
# for AVX2 (no AVX-512, like the CI machine) and runs it for Q4_0 and Q8_0 at the 7B decoder's size, then
# read_ceiling.c: two threads reading contiguous halves of 1 GiB (the memory bandwidth itself).
# Needs gcc and about 7 GB of free memory. Usage: scripts/native-ceiling/run.sh [weights, default 6.48e9]
set -euo pipefail
cd "$(dirname "$0")"
out="${TMPDIR:-/tmp}/owl2j-q4-ceiling"
gcc -O3 -Wall -Wno-address-of-packed-member -mavx2 -mfma -mf16c -pthread -o "$out" q4_ceiling.c
"$out" q4_0 "${1:-6.48e9}"
"$out" q8_0 "${1:-6.48e9}"
# plain contiguous reads, two threads: the bandwidth itself (AVX2, then AVX-512 where the CPU has it)
gcc -O2 -mavx2 -pthread -o "$out-read" read_ceiling.c && echo "read, 256-bit: $("$out-read")"
if grep -q avx512f /proc/cpuinfo; then
  gcc -O2 -mavx512f -DW512 -pthread -o "$out-read512" read_ceiling.c && echo "read, 512-bit: $("$out-read512")"
fi
