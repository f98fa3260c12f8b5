#!/usr/bin/env bash
# Native yardsticks for the CPU kernels (docs/performance-log.md, "What two cores can do", "Prefill schemes in C" and
# "Decode schemes at 512-bit and a LUT scheme in C"), C built with gcc, no Java. PARTS (default "decode prefill")
# picks what runs:
#   decode:  q4_ceiling.c built for AVX2 (no AVX-512, like the CI machine), run for Q4_0 and Q8_0 at the 7B decoder's
#            size (row-dot schemes read, int8, int16, float, int16 tiles and the T-MAC style table lookup lut; GB/s
#            of weights), and again built for AVX-512 where the CPU has avx512f and avx512bw (read, int8 vpdpbusd
#            on rows and on 16-row tiles where it has avx512_vnni, int16 tiles of 32 rows, lut with vpshufb and
#            with vpermw); then
#            read_ceiling.c: one and two threads reading contiguous shares of 1 GiB (the memory bandwidth itself),
#            256-bit and 512-bit loads. Needs about 7.5 GB of memory, a few minutes.
#   prefill: gemm_ceiling.c, the 7B prefill shapes (128 positions × 4096 against Q4_0 weights of 4096 × 4096 and
#            11008 × 4096, 1 and 2 threads) through the GEMM schemes float FMA outer product (Owl2J's today), int16
#            vpmullw, int8 vpmaddubsw and int8 vpdpbusd (VNNI, where the CPU has it); GFLOP/s and % of the FMA peak,
#            each scheme checked against a scalar reference first. Built for AVX2, and again for AVX-512 where
#            the CPU has avx512f and avx512bw. About 200 MB of memory, well under a minute on two idle cores.
# Usage: [PARTS=...] [OUT=file.tsv] scripts/native-ceiling/run.sh [weights for decode, default 6.48e9]
#
# Besides the human output, the figures go to one TSV file ($OUT, default ${TMPDIR:-/tmp}/owl2j-native-yardstick.tsv,
# overwritten; its path is printed at the end), which `owl2j bench --native FILE` reads. Format, version 1:
#   first line: "# owl2j native yardstick 1<TAB><date, UTC, ISO 8601><TAB><lscpu model name><TAB>avx512f=yes|no<TAB>
#               avx512_vnni=yes|no"
#   then one line per measured figure, 7 tab-separated columns in this order:
#     part     decode | prefill | read
#     quant    q4_0 | q8_0 | - (read)
#     scheme   no spaces: decode read, int8, int16, float, int16-tiles, lut (256-bit); read, int8-vnni,
#              int8-vnni-tiles, int16-tiles, lut, lut-vpermw (512-bit); prefill float-fma, int16-mullw,
#              int8-maddubs, int8-vnni; read read
#     bits     256 | 512 (vector width the scheme was built for)
#     threads  1 | 2
#     value    a decimal number
#     unit     GB/s (decode and read: weight bytes consumed per second streaming from DRAM, best of 3 passes for
#              decode, of 10 for read) | GFLOP/s (prefill: by wall clock, over one 7B layer's mix of the two shapes)
# The C programs print these lines themselves, prefixed "TSV<TAB>"; run.sh moves them into the file.
set -euo pipefail
cd "$(dirname "$0")"
bin="${TMPDIR:-/tmp}/owl2j-q4-ceiling"
tsv="${OUT:-${TMPDIR:-/tmp}/owl2j-native-yardstick.tsv}"
parts="${PARTS:-decode prefill}"
weights="${1:-6.48e9}"
has() { grep -qw "$1" /proc/cpuinfo; }
yn() { if has "$1"; then echo yes; else echo no; fi; }
avx512=no
if has avx512f && has avx512bw; then avx512=yes; fi
model="$(LC_ALL=C lscpu | sed -n 's/^Model name: *//p' | head -n 1)"
printf '# owl2j native yardstick 1\t%s\t%s\tavx512f=%s\tavx512_vnni=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  "${model:-unknown}" "$(yn avx512f)" "$(yn avx512_vnni)" > "$tsv"
# Runs one yardstick: its "TSV<TAB>" lines go to the file, everything else to the terminal as it comes.
run() {
  echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$@" | awk -v out="$tsv" '/^TSV\t/ { sub(/^TSV\t/, ""); print >> out; next } { print; fflush() }'
}
cflags=(-O3 -Wall -Wno-address-of-packed-member -pthread)
if [[ " $parts " == *" decode "* ]]; then
  gcc "${cflags[@]}" -mavx2 -mfma -mf16c -o "$bin" q4_ceiling.c -lm
  run "$bin" q4_0 "$weights"
  run "$bin" q8_0 "$weights"
  if [[ $avx512 == yes ]]; then
    vnni=()
    if has avx512_vnni; then vnni=(-mavx512vnni); fi
    gcc "${cflags[@]}" -DW512 -mavx512f -mavx512bw -mavx512vl "${vnni[@]}" -mavx2 -mfma -mf16c \
      -o "$bin-512" q4_ceiling.c -lm
    run "$bin-512" q4_0 "$weights"
    run "$bin-512" q8_0 "$weights"
  fi
  # plain contiguous reads: the bandwidth itself (AVX2, then AVX-512 where the CPU has it)
  gcc -O2 -Wall -mavx2 -pthread -o "$bin-read" read_ceiling.c
  for t in 1 2; do echo "read, 256-bit, $t thread(s):"; run "$bin-read" "$t"; done
  if has avx512f; then
    gcc -O2 -Wall -mavx512f -DW512 -pthread -o "$bin-read512" read_ceiling.c
    for t in 1 2; do echo "read, 512-bit, $t thread(s):"; run "$bin-read512" "$t"; done
  fi
fi
if [[ " $parts " == *" prefill "* ]]; then
  gcc -O3 -Wall -mavx2 -mfma -mf16c -pthread -o "$bin-gemm" gemm_ceiling.c -lm
  run "$bin-gemm"
  if [[ $avx512 == yes ]]; then
    gcc -O3 -Wall -DW512 -mavx512f -mavx512bw -mavx512vl -mavx2 -mfma -mf16c -pthread -o "$bin-gemm512" gemm_ceiling.c -lm
    run "$bin-gemm512"
  fi
fi
echo "figures (TSV): $tsv"
