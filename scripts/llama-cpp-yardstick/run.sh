#!/usr/bin/env bash
# Owl2J against llama.cpp on the same cores, same shapes, same quantization (docs/performance.md, "Against
# llama.cpp"; how the figures there were made: docs/performance-log.md). Runs, interleaved, ROUNDS times for each
# of QUANTS:
#   llama.cpp: pp_tg (next to this script) on a random LLaMA-2-7B GGUF: prefill of PREFILL positions (BOS + random
#              tokens, one call), then DECODE single-token steps;
#   Owl2J:     ./owl2j bench --synthetic 7b --quant Q --skip-vision --prefill-text PREFILL-1 --decode-tokens DECODE:
#              the same prefill (BOS + random text tokens) and decode on random weights made in memory.
# Both with THREADS threads; both decoders are LLaMA-2-7B for text tokens (Owl2J's multiway k/v and norms take the
# text branch; the visual branch is not used without an image). Quantized: q, k, v, o, gate, up, down of all 32
# layers; F16: token embeddings and lm_head; F32 norms; the same on both sides.
#
# Inputs (nothing is downloaded or built without being named here):
#   LLAMA_CPP  a llama.cpp checkout built for the CPU with CMake (e.g. -DGGML_NATIVE=ON -DGGML_OPENMP=ON
#              -DCMAKE_BUILD_TYPE=Release); headers are taken from include/ and ggml/include/, libllama and
#              libggml* from anywhere under LLAMA_BUILD (default LLAMA_CPP/build). pp_tg.cpp is compiled against
#              it with g++ into GGUF_DIR (printed).
#   GGUF_DIR   where the two random GGUFs live (4.2 and 7.4 GB); written with make_gguf.py when missing, which
#              needs PYTHON (default python3) with numpy and llama.cpp's gguf-py (`pip install gguf`). Each round's
#              whole `owl2j bench` output is kept there too (owl2j-QUANT-roundN.log).
#   Owl2J      built in this checkout (./build).
#   THREADS (2), PREFILL (128), DECODE (32), ROUNDS (3), QUANTS ("q4_0 q8_0"), PEAKS_MS (300: owl2j bench's
#              bandwidth/FMA reads, shortened; they are not part of the comparison).
#   WAIT_POLICIES ("passive"; "default passive" for both): llama.cpp runs once per policy per round. Its CPU
#              backend built with OpenMP meets at a barrier after every graph node (about 1000 per token); with the default policy
#              a waiting thread spins first, which is best on an idle machine but collapses when other processes
#              take the cores (on a shared 2-core machine decode fell to 0.5 tok/s); OMP_WAIT_POLICY=passive
#              sleeps at once. Owl2J's workers park (no spinning) either way.
#   LLAMA_CPP_VERSION  printed as llama.cpp's version when LLAMA_CPP is not a git checkout.
# Besides tokens per second, both sides report tokens per CPU second (user + system time of the whole process in
# that phase): on a shared machine the wall-clock rate moves with the other jobs from minute to minute, the CPU
# time a token costs much less.
# Usage: LLAMA_CPP=/path/to/llama.cpp GGUF_DIR=/path/with/12GB scripts/llama-cpp-yardstick/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
: "${LLAMA_CPP:?set LLAMA_CPP to a built llama.cpp checkout}" "${GGUF_DIR:?set GGUF_DIR to a folder with 12 GB free}"
LLAMA_BUILD="${LLAMA_BUILD:-$LLAMA_CPP/build}"
THREADS="${THREADS:-2}" PREFILL="${PREFILL:-128}" DECODE="${DECODE:-32}" ROUNDS="${ROUNDS:-3}"
QUANTS="${QUANTS:-q4_0 q8_0}" WAIT_POLICIES="${WAIT_POLICIES:-passive}" PEAKS_MS="${PEAKS_MS:-300}" PYTHON="${PYTHON:-python3}"
mkdir -p "$GGUF_DIR"

driver="$GGUF_DIR/pp_tg"
libdirs=$(find "$LLAMA_BUILD" \( -name 'libllama.*' -o -name 'libggml*.a' -o -name 'libggml*.so' \) -printf '%h\n' | sort -u)
[ -n "$libdirs" ] || { echo "no libllama / libggml under $LLAMA_BUILD" >&2; exit 1; }
echo "compiling $here/pp_tg.cpp against $LLAMA_CPP -> $driver"
g++ -O2 -std=c++17 -I"$LLAMA_CPP/include" -I"$LLAMA_CPP/ggml/include" "$here/pp_tg.cpp" -o "$driver" \
    $(for d in $libdirs; do printf -- '-L%s -Wl,-rpath,%s ' "$d" "$d"; done) \
    -lllama -lggml -lggml-cpu -lggml-base -fopenmp -lpthread -ldl -lm

for q in $QUANTS; do
  if [ ! -s "$GGUF_DIR/rand7b-$q.gguf" ]; then
    echo "writing $GGUF_DIR/rand7b-$q.gguf with $here/make_gguf.py"
    "$PYTHON" "$here/make_gguf.py" "$q" "$GGUF_DIR/rand7b-$q.gguf.part" && mv "$GGUF_DIR/rand7b-$q.gguf.part" "$GGUF_DIR/rand7b-$q.gguf"
  fi
done

echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, avx512f: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no), avx512_vnni: $(grep -qw avx512_vnni /proc/cpuinfo && echo yes || echo no)"
echo "llama.cpp: ${LLAMA_CPP_VERSION:-$(git -C "$LLAMA_CPP" describe --always --tags 2>/dev/null || echo "$LLAMA_CPP (set LLAMA_CPP_VERSION to name it)")}"
echo "date: $(date -u '+%Y-%m-%d %H:%M UTC'); threads $THREADS, prefill $PREFILL positions, decode $DECODE steps, $ROUNDS rounds"
# results: "quant side phase tok/s tok-per-cpu-second" per run and phase
results="$GGUF_DIR/results.txt"
: > "$results"
for q in $QUANTS; do
  for r in $(seq 1 "$ROUNDS"); do
    echo "== $q round $r, load average $(cut -d' ' -f1-3 /proc/loadavg)"
    for policy in $WAIT_POLICIES; do
      if [ "$policy" = default ]; then
        line=$(env -u OMP_WAIT_POLICY "$driver" "$GGUF_DIR/rand7b-$q.gguf" "$THREADS" "$PREFILL" "$DECODE" 1 2>/dev/null | tail -1)
      else
        line=$(OMP_WAIT_POLICY="$policy" "$driver" "$GGUF_DIR/rand7b-$q.gguf" "$THREADS" "$PREFILL" "$DECODE" 1 2>/dev/null | tail -1)
      fi
      echo "llama.cpp ($policy): $line   (tok/s, CPU s)"
      set -- $line
      awk -v q="$q" -v s="llama-$policy" -v p="$2" -v pr="$3" -v pc="$4" -v n="$6" -v tr="$7" -v tc="$8" \
          'BEGIN { printf "%s %s pp %s %.3f\n%s %s tg %s %.3f\n", q, s, pr, p / pc, q, s, tr, n / tc }' >> "$results"
    done
    log="$GGUF_DIR/owl2j-$q-round$r.log"
    status=0
    out=$(cd "$repo" && ./owl2j bench --synthetic 7b --quant "$q" --skip-vision --threads "$THREADS" \
        --prefill-text $((PREFILL - 1)) --decode-tokens "$DECODE" --peaks-ms "$PEAKS_MS" 2>&1) || status=$?
    # the whole output kept, and the lines that explain a slow round printed below: the memory reads around decode
    # and how much of the process sat in huge pages
    printf '%s\n' "$out" > "$log"
    # "= R tok/s (B of T threads busy on average)": CPU seconds per token = B / R
    pp=$(grep '^prefill:' <<<"$out" | sed 's/.* = \([0-9.]*\) tok\/s.*(\([0-9.]*\) of .*/\1 \2/' || true)
    tg=$(grep '^decode:' <<<"$out" | sed 's/.* = \([0-9.]*\) tok\/s = .*; \([0-9.]*\) of [0-9]* threads busy.*/\1 \2/' || true)
    if [ "$status" -ne 0 ] || [ -z "$pp" ] || [ -z "$tg" ]; then
      # e.g. extra JVM output (OWL2J_JAVA_OPTS=-XX:+PrintCompilation) written into the middle of those lines
      echo "run.sh: owl2j bench exited with $status or printed no 'prefill:' / 'decode:' line at the start of a line; its output: $log" >&2
      exit 1
    fi
    echo "owl2j: prefill $pp, decode $tg   (tok/s, threads busy; whole output: $log)"
    grep -o 'the reads right before and after decoding: [0-9., ]*' <<<"$out" \
      | sed 's/^the reads/  owl2j: memory read (GB\/s)/' || true
    grep '^huge pages:' <<<"$out" | sed 's/^/  owl2j: /' || true
    set -- $pp $tg
    awk -v q="$q" -v pr="$1" -v pb="$2" -v tr="$3" -v tb="$4" \
        'BEGIN { printf "%s owl2j pp %s %.3f\n%s owl2j tg %s %.3f\n", q, pr, pr / pb, q, tr, tr / tb }' >> "$results"
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
# medians per quant, side and phase; Owl2J / llama.cpp for the wall-clock rate and for tokens per CPU second
awk '
  { k = $1" "$2" "$3; r[k, ++n[k]] = $4; c[k, n[k]] = $5; q[$1] = 1; if ($2 != "owl2j") side[$2] = 1 }
  function median(a, k,   b, m, i, j, t) { m = n[k]; for (i = 1; i <= m; i++) b[i] = a[k, i]
    for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
    return m % 2 ? b[(m + 1) / 2] : (b[m / 2] + b[m / 2 + 1]) / 2 }
  END { printf "%-5s %-8s %-14s | %9s %9s %6s | %11s %11s %6s\n", "quant", "phase", "llama.cpp", "llama", "owl2j",
          "ratio", "llama/cpu-s", "owl2j/cpu-s", "ratio"
    for (k in q) for (s in side) for (p = 1; p <= 2; p++) { ph = p == 1 ? "pp" : "tg"
      a = k " " s " " ph; b = k " owl2j " ph
      printf "%-5s %-8s %-14s | %9.2f %9.2f %6.2f | %11.2f %11.2f %6.2f\n", k, ph == "pp" ? "prefill" : "decode", s,
        median(r, a), median(r, b), median(r, b) / median(r, a), median(c, a), median(c, b), median(c, b) / median(c, a) } }' "$results"
