#!/usr/bin/env bash
# Packs Owl2J for the borrowed GPU machine (which has no Java) and runs it there.
#
#   scripts/device.sh pack     here: build, jlink a small JDK 25 runtime, put it and the self-contained
#                              benchmarks jar in .device-pack/ (git-ignored; about 30 MB)
#   scripts/device.sh remote   there (through the device tool, with .device-pack carried): unpack the
#                              runtime, register NVIDIA's OpenCL and Vulkan drivers, run the device report
#                              (device listing incl. Vulkan, fixture checks + benchmarks for cuda and NVIDIA
#                              opencl) and print one table
#
# The device tool call is:  run(command="bash scripts/device.sh remote", carry=[".device-pack"])
set -euo pipefail
cd "$(dirname "$0")/.."
pack=.device-pack

case "${1:-}" in
  pack)
    source scripts/java-env.sh
    ./build
    rm -rf "$pack" && mkdir -p "$pack"
    "$JAVA_HOME/bin/jlink" --add-modules java.base,java.net.http,java.logging,java.management,java.desktop,jdk.incubator.vector,jdk.httpserver,jdk.unsupported \
      --strip-debug --no-header-files --no-man-pages --output "$pack/jre" 2>/dev/null
    tar -C "$pack" -cJf "$pack/jre.txz" jre && rm -rf "$pack/jre"
    cp bench/target/benchmarks.jar "$pack/"
    # the Vulkan loader (Debian's libvulkan1), in case the GPU machine has only NVIDIA's driver and no loader
    vk=$(ldconfig -p | awk '/libvulkan\.so\.1 .*x86-64/ {print $NF; exit}')
    if [ -n "$vk" ]; then cp -L "$vk" "$pack/libvulkan.so.1"; fi
    du -sh "$pack"/*
    ;;
  remote)
    tmp=$(mktemp -d)
    tar -C "$tmp" -xJf "$pack/jre.txz"
    # NVIDIA's OpenCL driver is installed but not registered with the ICD loader on that machine.
    mkdir -p "$tmp/icd"
    echo "libnvidia-opencl.so.1" > "$tmp/icd/nvidia.icd"
    export OCL_ICD_VENDORS="$tmp/icd"
    # NVIDIA's Vulkan driver lives in libGLX_nvidia.so.0; containers often lack its ICD manifest.
    vkloader=""
    if ! ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json >/dev/null 2>&1 && ldconfig -p | grep -q libGLX_nvidia.so.0; then
      echo '{"file_format_version": "1.0.0", "ICD": {"library_path": "libGLX_nvidia.so.0", "api_version": "1.3.0"}}' > "$tmp/icd/nvidia_icd.json"
      export VK_ICD_FILENAMES="$tmp/icd/nvidia_icd.json" VK_DRIVER_FILES="$tmp/icd/nvidia_icd.json"
    fi
    if ! ldconfig -p | grep -q 'libvulkan\.so\.1 ' && [ -f "$pack/libvulkan.so.1" ]; then vkloader="$PWD/$pack/libvulkan.so.1"; fi
    nrtc=$(ls /usr/local/cuda/targets/x86_64-linux/lib/libnvrtc.so 2>/dev/null || true)
    shift
    # keep the JVM's SIGSEGV handler first if a driver installs its own (see ./owl2j)
    if [ -f "$tmp/jre/lib/libjsig.so" ]; then export LD_PRELOAD="$tmp/jre/lib/libjsig.so"; fi
    "$tmp/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow -Xmx64g \
      ${nrtc:+-Dorg.lwjgl.cuda.nvrtc.libname=$nrtc} ${vkloader:+-Dorg.lwjgl.vulkan.libname=$vkloader} -Dowl2j.testdata="$PWD/testdata" \
      -cp "$pack/benchmarks.jar" dev.owl2j.bench.DeviceReport "$@"
    ;;
  *)
    echo "usage: scripts/device.sh pack | remote [ARGS]" >&2
    exit 2
    ;;
esac
