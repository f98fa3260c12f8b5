#!/usr/bin/env bash
# Host C++ syntax check of the CUDA branch of the kernel sources (portable.h + ops.cl) for machines without
# NVRTC/a GPU: g++ -fsyntax-only with stand-ins for the CUDA built-ins, as NVRTC would see it for sm_90
# (so the sm_80+ tensor-core kernel is included). It proves the C++ parses and type-checks, nothing more:
# inline-PTX operand constraints are not checked by g++ -fsyntax-only, and nothing is compiled for a GPU.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
res="$root/kernels/src/main/resources/dev/owl2j/kernels"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/standins.h" <<'H'
#define __CUDACC_RTC__ 1
#define __CUDA_ARCH__ 900
#define __global__
#define __shared__ static
#define __device__
#define __forceinline__ inline
struct owl_dim3 { unsigned x, y, z; };
extern owl_dim3 threadIdx, blockIdx, blockDim;
void __syncthreads();
float __uint_as_float(unsigned);
unsigned __float_as_uint(float);
double __hiloint2double(int, int);
float expf(float); float sqrtf(float); float fmaxf(float, float); double exp(double);
H
{ echo '#include "standins.h"'; cat "$res/portable.h"; echo; cat "$res/ops.cl"; } > "$tmp/ops_cuda.cpp"
g++ -std=c++17 -fsyntax-only -Wall -Wno-unused-function -Wno-unused-variable -I "$tmp" "$tmp/ops_cuda.cpp"
echo "CUDA branch (sm_90 view, tensor-core kernel included): host syntax check passed"
