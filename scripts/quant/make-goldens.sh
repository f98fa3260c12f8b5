#!/usr/bin/env bash
# Regenerates testdata/quant/ (Q8_0 / Q4_0 golden blocks) from the C reference next to this script.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="$here/../../testdata/quant"
mkdir -p "$out"
gcc -O1 -fno-fast-math -o /tmp/ggml_quant_ref "$here/ggml_quant_ref.c" -lm
/tmp/ggml_quant_ref "$out"
echo "wrote $(ls "$out")"
