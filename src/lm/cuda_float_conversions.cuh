// float32 <-> float32 / bfloat16 / float16 conversions for the LM's CUDA kernels: to_float reads
// any of the three, from_float<T> rounds to nearest even. Device code only (include from .cu).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

namespace rebench::lm::detail {

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }

template <typename T>
__device__ __forceinline__ T from_float(float x);
template <>
__device__ __forceinline__ float from_float<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) {
  return __float2bfloat16_rn(x);
}
template <>
__device__ __forceinline__ __half from_float<__half>(float x) {
  return __float2half_rn(x);
}

}  // namespace rebench::lm::detail
