/*
 * Portability header: the kernel sources are written once in the common subset of OpenCL C 1.2 and CUDA C++
 * (compiled by NVRTC) and use only these macros for the parts that differ. Why not `half` variables: PoCL
 * and many OpenCL drivers lack cl_khr_fp16, so F16 is read with vload_half (always available) on OpenCL and
 * with one PTX cvt instruction on CUDA (no cuda_fp16.h, which NVRTC may not find). BF16 is a 16-bit shift.
 */
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define OWL_CUDA 1
#define KERNEL extern "C" __global__
#define GLOBAL
#define LOCAL_MEM __shared__
#define LOCAL_PTR
#define DEVFN __device__ __forceinline__
#define LID0 ((int)threadIdx.x)
#define LID1 ((int)threadIdx.y)
#define GROUP0 ((int)blockIdx.x)
#define GROUP1 ((int)blockIdx.y)
#define GID0 ((int)(blockIdx.x * blockDim.x + threadIdx.x))
#define GID1 ((int)(blockIdx.y * blockDim.y + threadIdx.y))
#define BARRIER() __syncthreads()
#define BITS_TO_FLOAT(u) __uint_as_float(u)
#define EXPF(x) expf(x)
#define SQRTF(x) sqrtf(x)
#define FMAXF(a, b) fmaxf(a, b)
/* NVRTC compiles without the standard headers; give size_t a definite 64-bit meaning. */
#define size_t unsigned long long
typedef unsigned char uchar;
typedef signed char schar;
typedef unsigned short ushort;
typedef unsigned int uint;
DEVFN float half_at(const ushort* p, int i) {
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(p[i]));
    return f;
}
#else
#define KERNEL __kernel
#define GLOBAL __global
#define LOCAL_MEM __local
#define LOCAL_PTR __local
#define DEVFN
#define LID0 ((int)get_local_id(0))
#define LID1 ((int)get_local_id(1))
#define GROUP0 ((int)get_group_id(0))
#define GROUP1 ((int)get_group_id(1))
#define GID0 ((int)get_global_id(0))
#define GID1 ((int)get_global_id(1))
#define BARRIER() barrier(CLK_LOCAL_MEM_FENCE)
#define BITS_TO_FLOAT(u) as_float(u)
#define EXPF(x) exp(x)
#define SQRTF(x) sqrt(x)
#define FMAXF(a, b) fmax(a, b)
typedef char schar;
DEVFN float half_at(const GLOBAL ushort* p, int i) {
    return vload_half(i, (const GLOBAL half*) p);
}
#endif

DEVFN float bf16_at(const GLOBAL ushort* p, int i) {
    return BITS_TO_FLOAT(((uint) p[i]) << 16);
}

DEVFN int imin(int a, int b) {
    return a < b ? a : b;
}

/*
 * Sampling accumulates in double where the device has it (CUDA; OpenCL with cl_khr_fp64, e.g. PoCL and NVIDIA)
 * so that the device picks the same token as the host Sampler, which works in double. Doubles reach the
 * kernel as two ints (low, high word) because OpenCL 1.2 has no double kernel arguments without fp64.
 */
#if defined(OWL_CUDA)
typedef unsigned long long u64;
DEVFN uint float_bits(float f) { return __float_as_uint(f); }
#define OWL_FP64 1
#else
typedef ulong u64;
DEVFN uint float_bits(float f) { return as_uint(f); }
#if defined(cl_khr_fp64) && !defined(OWL_NO_FP64) /* OWL_NO_FP64: tests of the float fallback */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#define OWL_FP64 1
#endif
#endif

#if defined(OWL_FP64)
typedef double acc_t;
#define EXP_ACC(x) exp(x)
DEVFN acc_t acc_from_bits(uint lo, uint hi) {
#if defined(OWL_CUDA)
    return __hiloint2double((int) hi, (int) lo);
#else
    return as_double(((u64) hi << 32) | (u64) lo);
#endif
}
#else
typedef float acc_t;
#define EXP_ACC(x) EXPF(x)
/* The double with these words rounded toward zero to float (no fp64 on this device). */
DEVFN acc_t acc_from_bits(uint lo, uint hi) {
    uint sign = hi & 0x80000000u;
    int e = (int) ((hi >> 20) & 0x7ff);
    if (e == 0) return BITS_TO_FLOAT(sign);
    if (e == 0x7ff) return BITS_TO_FLOAT(sign | 0x7f800000u | (hi & 0xfffffu));
    e = e - 1023 + 127;
    if (e <= 0) return BITS_TO_FLOAT(sign);
    if (e >= 255) return BITS_TO_FLOAT(sign | 0x7f800000u);
    return BITS_TO_FLOAT(sign | ((uint) e << 23) | ((hi & 0xfffffu) << 3) | (lo >> 29));
}
#endif

/* Lowest float used as "no score yet"; exp(lowest - finite) underflows to 0 like -inf would. */
#define NEG_HUGE (-3.0e38f)
