#!/usr/bin/env bash
# Fetches NVIDIA's CUDA compiler pieces from their pip wheels into .whl/cuda (ignored by git), for the CUDA compile
# test (kernels' CudaCompileTest): nvidia-cuda-nvrtc (libnvrtc.so.13, CUDA C++ -> PTX, no GPU or driver needed)
# and nvidia-cuda-nvcc (bin/ptxas, PTX -> sm_80/sm_90 machine code). The downloads are cached under
# ${XDG_CACHE_HOME:-~/.cache}/owl2j/cuda-wheels. When they cannot be fetched, .whl/UNAVAILABLE says why and the test
# skips with that reason. Idempotent.
set -uo pipefail
cd "$(dirname "$0")/.."
version=13.0.88
dest=.whl/cuda
if [ -f "$dest/nvidia/cu13/lib/libnvrtc.so.13" ] && [ -x "$dest/nvidia/cu13/bin/ptxas" ]; then
  exit 0
fi
mkdir -p .whl
rm -f .whl/UNAVAILABLE
cache="${XDG_CACHE_HOME:-$HOME/.cache}/owl2j/cuda-wheels/$version"
mkdir -p "$cache"
unavailable() { echo "$1" > .whl/UNAVAILABLE; echo "cuda-wheels: $1" >&2; exit 0; }
if ! python3 -m pip --version >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-pip >/dev/null 2>&1 || true
  fi
fi
python3 -m pip --version >/dev/null 2>&1 || unavailable "python3 -m pip is not available to fetch nvidia-cuda-nvrtc/nvidia-cuda-nvcc $version"
if ! ls "$cache"/nvidia_cuda_nvrtc-*.whl >/dev/null 2>&1 || ! ls "$cache"/nvidia_cuda_nvcc-*.whl >/dev/null 2>&1; then
  # pip download is allowed where PEP 668 forbids installing into the system Python
  python3 -m pip download --no-deps --only-binary=:all: -d "$cache" \
      "nvidia-cuda-nvrtc==$version" "nvidia-cuda-nvcc==$version" > "$cache/pip.log" 2>&1 \
    || unavailable "pip could not download nvidia-cuda-nvrtc/nvidia-cuda-nvcc $version: $(tail -1 "$cache/pip.log")"
fi
rm -rf "$dest.tmp"
mkdir -p "$dest.tmp"
# only the three files the test uses (the wheels unpack to ~330 MB, these to ~145 MB)
for w in "$cache"/nvidia_cuda_nvrtc-*.whl "$cache"/nvidia_cuda_nvcc-*.whl; do
  python3 - "$w" "$dest.tmp" <<'EOF' || unavailable "could not unpack $w"
import sys, zipfile
keep = {"nvidia/cu13/lib/libnvrtc.so.13", "nvidia/cu13/lib/libnvrtc-builtins.so.13.0", "nvidia/cu13/bin/ptxas"}
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in z.namelist():
        if name in keep:
            z.extract(name, sys.argv[2])
EOF
done
chmod +x "$dest.tmp"/nvidia/cu13/bin/* 2>/dev/null || true
rm -rf "$dest" && mv "$dest.tmp" "$dest"
[ -f "$dest/nvidia/cu13/lib/libnvrtc.so.13" ] && [ -x "$dest/nvidia/cu13/bin/ptxas" ] \
  || unavailable "the wheels did not contain nvidia/cu13/lib/libnvrtc.so.13 and nvidia/cu13/bin/ptxas"
echo "cuda-wheels: NVRTC and ptxas $version in $dest"
