// Fused softmax cross-entropy kernels (see fused_cross_entropy_kernel.hpp). One block per row:
// 16-byte vector loads (8 bf16/fp16 or 4 fp32 logits), an online max / sum-exp in float32
// registers, a shuffle + shared-memory block reduction. Rows whose start is not 16-byte aligned
// (a vocabulary such as 50257) get a scalar head and tail around the aligned body.
#include "lm/fused_cross_entropy_kernel.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <climits>
#include <cmath>
#include <cstdint>

#include "lm/cuda_float_conversions.cuh"

namespace rebench::lm::detail {
namespace {

constexpr int kMaxThreads = 512;
constexpr int kUnroll = 4;  // vector loads in flight per thread before they are used
constexpr float kLog2e = 1.4426950408889634f;
constexpr unsigned kFullMask = 0xffffffffu;

/// N logits loaded or stored as one 16-byte access (N = 1: plain scalar access).
template <typename T, int N>
struct alignas(sizeof(T) * N) Pack {
  T v[N];
};

/// exp(x) as 2^(x log2 e): ex2.approx (about 2 ulp) instead of expf's longer sequence; the
/// kernels are memory-bound and the result is compared with bf16 tolerances.
__device__ __forceinline__ float exp_fast(float x) { return exp2f(x * kLog2e); }

/// Where the aligned body of a row starts and ends: elements [0, head) and [tail, vocab) are
/// read one by one, [head, tail) as `count` packs of N.
struct RowSplit {
  int head;
  int count;
  int tail;
};

template <typename T, int N>
__device__ __forceinline__ RowSplit split_row(const T* row, int vocab) {
  int head = 0;
  if (N > 1) {
    const auto misaligned = static_cast<int>(reinterpret_cast<std::uintptr_t>(row) % 16);
    head = misaligned == 0 ? 0 : (16 - misaligned) / static_cast<int>(sizeof(T));
    head = min(head, vocab);
  }
  const int count = (vocab - head) / N;
  return {head, count, head + count * N};
}

// ---- online max / sum-exp ------------------------------------------------------------------
// State (m, s): s = sum over the values seen of exp(x - m), m their maximum (-inf while none
// was finite). A NaN logit makes s NaN, so the loss is NaN as with torch.

__device__ __forceinline__ void add_value(float& m, float& s, float x) {
  if (x > m) {
    s = s * exp_fast(m - x) + 1.0f;
    m = x;
  } else {
    s += exp_fast(x - (m == -INFINITY ? 0.0f : m));
  }
}

template <int N>
__device__ __forceinline__ void add_values(float& m, float& s, const float (&x)[N]) {
  float vmax = x[0];
#pragma unroll
  for (int k = 1; k < N; ++k) vmax = fmaxf(vmax, x[k]);
  if (vmax > m) {
    s *= exp_fast(m - vmax);
    m = vmax;
  }
  const float ref = m == -INFINITY ? 0.0f : m;
  float part = 0.0f;
#pragma unroll
  for (int k = 0; k < N; ++k) part += exp_fast(x[k] - ref);
  s += part;
}

__device__ __forceinline__ void merge(float& m, float& s, float m2, float s2) {
  const float mx = fmaxf(m, m2);
  if (mx == -INFINITY) {
    s += s2;  // both empty: 0, or NaN carried on
    return;
  }
  s = s * expf(m - mx) + s2 * expf(m2 - mx);
  m = mx;
}

/// Block-wide merge of (m, s); the result is valid in thread 0. blockDim.x is a multiple of 32.
__device__ __forceinline__ void block_merge(float& m, float& s) {
  __shared__ float shared_m[32];
  __shared__ float shared_s[32];
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float m2 = __shfl_xor_sync(kFullMask, m, offset);
    const float s2 = __shfl_xor_sync(kFullMask, s, offset);
    merge(m, s, m2, s2);
  }
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  if (lane == 0) {
    shared_m[warp] = m;
    shared_s[warp] = s;
  }
  __syncthreads();
  if (warp == 0) {
    const int warps = static_cast<int>(blockDim.x) / 32;
    m = lane < warps ? shared_m[lane] : -INFINITY;
    s = lane < warps ? shared_s[lane] : 0.0f;
#pragma unroll
    for (int offset = 16; offset > 0; offset >>= 1) {
      const float m2 = __shfl_xor_sync(kFullMask, m, offset);
      const float s2 = __shfl_xor_sync(kFullMask, s, offset);
      merge(m, s, m2, s2);
    }
  }
}

template <typename T, int N>
__device__ __forceinline__ void add_pack(float& m, float& s, const Pack<T, N>& p) {
  float x[N];
#pragma unroll
  for (int k = 0; k < N; ++k) x[k] = to_float(p.v[k]);
  add_values<N>(m, s, x);
}

// ---- kernels ---------------------------------------------------------------------------------

template <typename T, int N>
__global__ void __launch_bounds__(kMaxThreads)
    forward_kernel(const T* __restrict__ logits, int vocab,
                   const std::int64_t* __restrict__ targets, std::int64_t ignore_index,
                   float* __restrict__ lse_out, float* __restrict__ loss_out) {
  const std::int64_t row = blockIdx.x;
  const T* x = logits + row * static_cast<std::int64_t>(vocab);
  // Thread 0 fetches the target logit first, so its latency hides behind the row's loads.
  std::int64_t target = 0;
  float target_logit = 0.0f;
  if (threadIdx.x == 0) {
    target = targets[row];
    if (target >= 0 && target < vocab) target_logit = to_float(x[target]);
  }
  const RowSplit split = split_row<T, N>(x, vocab);
  const int stride = static_cast<int>(blockDim.x);
  float m = -INFINITY, s = 0.0f;
  for (int j = static_cast<int>(threadIdx.x); j < split.head; j += stride)
    add_value(m, s, to_float(x[j]));
  for (int j = split.tail + static_cast<int>(threadIdx.x); j < vocab; j += stride)
    add_value(m, s, to_float(x[j]));
  const auto* body = reinterpret_cast<const Pack<T, N>*>(x + split.head);
  int i = static_cast<int>(threadIdx.x);
  for (; i + (kUnroll - 1) * stride < split.count; i += kUnroll * stride) {
    Pack<T, N> p[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) p[u] = body[i + u * stride];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) add_pack<T, N>(m, s, p[u]);
  }
  for (; i < split.count; i += stride) add_pack<T, N>(m, s, body[i]);
  block_merge(m, s);
  if (threadIdx.x == 0) {
    const float lse = m + logf(s);
    lse_out[row] = lse;
    float loss;
    if (target == ignore_index) {
      loss = 0.0f;
    } else if (target < 0 || target >= vocab) {
      loss = NAN;  // torch raises a device-side assert here; NaN reaches the caller's checks
    } else {
      loss = lse - target_logit;
    }
    loss_out[row] = loss;
  }
}

/// d loss / d logit for one logit `x` at column `j`. x - lse first (exact when they are close,
/// so the target's softmax of 1 stays exactly 1), then the exponential.
__device__ __forceinline__ float grad_value(float x, int j, int target, float lse, float scale) {
  return (exp_fast(x - lse) - (j == target ? 1.0f : 0.0f)) * scale;
}

template <typename T, int N>
__device__ __forceinline__ Pack<T, N> grad_pack(const Pack<T, N>& in, int first, int target,
                                                float lse, float scale) {
  Pack<T, N> out;
#pragma unroll
  for (int k = 0; k < N; ++k)
    out.v[k] = from_float<T>(grad_value(to_float(in.v[k]), first + k, target, lse, scale));
  return out;
}

// No __restrict__ on logits and grad: they are the same buffer when the gradient is written in
// place (each element is read and then written by the same thread).
template <typename T, int N>
__global__ void __launch_bounds__(kMaxThreads)
    backward_kernel(const T* logits, T* grad, int vocab, const std::int64_t* __restrict__ targets,
                    std::int64_t ignore_index, const float* __restrict__ lse,
                    const float* __restrict__ scale_ptr) {
  const std::int64_t row = blockIdx.x;
  const T* x = logits + row * static_cast<std::int64_t>(vocab);
  T* g = grad + row * static_cast<std::int64_t>(vocab);
  const std::int64_t target64 = targets[row];
  const int stride = static_cast<int>(blockDim.x);
  const RowSplit split = split_row<T, N>(x, vocab);  // grad rows are aligned alike (launcher)
  auto* body_out = reinterpret_cast<Pack<T, N>*>(g + split.head);
  if (target64 == ignore_index) {
    Pack<T, N> zero;
#pragma unroll
    for (int k = 0; k < N; ++k) zero.v[k] = from_float<T>(0.0f);
    for (int j = static_cast<int>(threadIdx.x); j < split.head; j += stride)
      g[j] = from_float<T>(0.0f);
    for (int j = split.tail + static_cast<int>(threadIdx.x); j < vocab; j += stride)
      g[j] = from_float<T>(0.0f);
    for (int i = static_cast<int>(threadIdx.x); i < split.count; i += stride) body_out[i] = zero;
    return;
  }
  const int target = target64 >= 0 && target64 < vocab ? static_cast<int>(target64) : -1;
  const float row_lse = lse[row];
  const float scale = *scale_ptr;
  for (int j = static_cast<int>(threadIdx.x); j < split.head; j += stride)
    g[j] = from_float<T>(grad_value(to_float(x[j]), j, target, row_lse, scale));
  for (int j = split.tail + static_cast<int>(threadIdx.x); j < vocab; j += stride)
    g[j] = from_float<T>(grad_value(to_float(x[j]), j, target, row_lse, scale));
  const auto* body_in = reinterpret_cast<const Pack<T, N>*>(x + split.head);
  int i = static_cast<int>(threadIdx.x);
  for (; i + (kUnroll - 1) * stride < split.count; i += kUnroll * stride) {
    Pack<T, N> p[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) p[u] = body_in[i + u * stride];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int index = i + u * stride;
      body_out[index] = grad_pack<T, N>(p[u], split.head + index * N, target, row_lse, scale);
    }
  }
  for (; i < split.count; i += stride)
    body_out[i] = grad_pack<T, N>(body_in[i], split.head + i * N, target, row_lse, scale);
}

// ---- launchers -------------------------------------------------------------------------------

/// Threads per row: enough for about four packs each, 32 to kMaxThreads (a multiple of 32).
int threads_for(std::int64_t packs) {
  int threads = 32;
  while (threads < kMaxThreads && threads * 4 < packs) threads *= 2;
  return threads;
}

bool valid_shape(std::int64_t rows, std::int64_t vocab) {
  return rows >= 0 && rows <= INT_MAX && vocab > 0 && vocab <= INT_MAX;
}

template <typename T>
cudaError_t launch_forward(const void* logits, std::int64_t rows, std::int64_t vocab,
                           const std::int64_t* targets, std::int64_t ignore_index, float* lse,
                           float* loss, cudaStream_t stream) {
  constexpr int kVec = 16 / static_cast<int>(sizeof(T));
  const int threads = threads_for((vocab + kVec - 1) / kVec);
  forward_kernel<T, kVec><<<static_cast<unsigned>(rows), threads, 0, stream>>>(
      static_cast<const T*>(logits), static_cast<int>(vocab), targets, ignore_index, lse, loss);
  return cudaGetLastError();
}

template <typename T>
cudaError_t launch_backward(const void* logits, void* grad, std::int64_t rows, std::int64_t vocab,
                            const std::int64_t* targets, std::int64_t ignore_index,
                            const float* lse, const float* scale, cudaStream_t stream) {
  constexpr int kVec = 16 / static_cast<int>(sizeof(T));
  const auto in = reinterpret_cast<std::uintptr_t>(logits);
  const auto out = reinterpret_cast<std::uintptr_t>(grad);
  const auto* x = static_cast<const T*>(logits);
  auto* g = static_cast<T*>(grad);
  const int v = static_cast<int>(vocab);
  if (in % 16 == out % 16) {
    const int threads = threads_for((vocab + kVec - 1) / kVec);
    backward_kernel<T, kVec><<<static_cast<unsigned>(rows), threads, 0, stream>>>(
        x, g, v, targets, ignore_index, lse, scale);
  } else {  // rows of logits and grad aligned differently: scalar accesses
    const int threads = threads_for(vocab);
    backward_kernel<T, 1><<<static_cast<unsigned>(rows), threads, 0, stream>>>(
        x, g, v, targets, ignore_index, lse, scale);
  }
  return cudaGetLastError();
}

}  // namespace

cudaError_t cross_entropy_forward(LogitsType type, const void* logits, std::int64_t rows,
                                  std::int64_t vocab, const std::int64_t* targets,
                                  std::int64_t ignore_index, float* lse, float* loss,
                                  cudaStream_t stream) {
  if (!valid_shape(rows, vocab)) return cudaErrorInvalidValue;
  if (rows == 0) return cudaSuccess;
  switch (type) {
    case LogitsType::kFloat32:
      return launch_forward<float>(logits, rows, vocab, targets, ignore_index, lse, loss, stream);
    case LogitsType::kBFloat16:
      return launch_forward<__nv_bfloat16>(logits, rows, vocab, targets, ignore_index, lse, loss,
                                           stream);
    case LogitsType::kFloat16:
      return launch_forward<__half>(logits, rows, vocab, targets, ignore_index, lse, loss, stream);
  }
  return cudaErrorInvalidValue;
}

cudaError_t cross_entropy_backward(LogitsType type, const void* logits, void* grad,
                                   std::int64_t rows, std::int64_t vocab,
                                   const std::int64_t* targets, std::int64_t ignore_index,
                                   const float* lse, const float* scale, cudaStream_t stream) {
  if (!valid_shape(rows, vocab)) return cudaErrorInvalidValue;
  if (rows == 0) return cudaSuccess;
  switch (type) {
    case LogitsType::kFloat32:
      return launch_backward<float>(logits, grad, rows, vocab, targets, ignore_index, lse, scale,
                                    stream);
    case LogitsType::kBFloat16:
      return launch_backward<__nv_bfloat16>(logits, grad, rows, vocab, targets, ignore_index, lse,
                                            scale, stream);
    case LogitsType::kFloat16:
      return launch_backward<__half>(logits, grad, rows, vocab, targets, ignore_index, lse, scale,
                                     stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace rebench::lm::detail
