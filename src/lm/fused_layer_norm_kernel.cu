// Fused LayerNorm kernels (see fused_layer_norm_kernel.hpp). One warp per row, the row held in
// registers (V values per lane), so each tensor is read from memory once: the forward takes the
// mean and then the variance about it from the registers (no E[x^2] - E[x]^2 cancellation) and
// writes y directly in the output type; the backward writes dx per row and accumulates dweight
// and dbias per warp in shared memory over the rows its block handles, then adds the blocks'
// partial sums in a fixed order (no float atomics, so the sums are reproducible bit for bit).
// The add variants (template flags, same bodies) fuse a residual add: the forward also reads the
// branch and writes the float32 sum it normalises; the backward adds the gradient arriving at
// that sum into dx and can write dx a second time in the branch's dtype.
// On an H100 with 65536 x 768 rows both run at about 2.75-2.9 TB/s (a device copy: 3.0 TB/s).
#include "lm/fused_layer_norm_kernel.hpp"

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <atomic>
#include <climits>
#include <cstdint>
#include <type_traits>

#include "lm/cuda_float_conversions.cuh"

namespace rebench::lm::detail {
namespace {

constexpr int kWarps = 8;  // forward: rows per block, one per warp
constexpr int kThreads = kWarps * 32;
constexpr int kBackwardWarps = 4;  // backward: 4 warps, so 2 * 4 accumulator rows fit in 48 KB
constexpr int kBackwardThreads = kBackwardWarps * 32;
constexpr int kSumWarps = 32;  // final sum: warps adding up one column range's partials
constexpr unsigned kFullMask = 0xffffffffu;
constexpr int kMaxDevices = 64;  // SM counts cached per device ordinal below this

/// Four consecutive elements loaded or stored as one access (16 bytes of float32, 8 of bf16).
template <typename T>
struct alignas(sizeof(T) * 4) Pack4 {
  T v[4];
};

/// Sum over the warp; every lane gets the same value (a butterfly adds the same pairs on both
/// sides, so the lanes agree bit for bit).
__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(kFullMask, v, offset);
  return v;
}

// ---- a row in registers ----------------------------------------------------------------------
// Lane `lane` keeps V values of a row. Scalar layout: value k is column lane + 32 k (a warp reads
// 32 consecutive elements per k). Vector layout (width % 4 == 0, aligned rows, V % 4 == 0): values
// 4p..4p+3 are columns 4 (lane + 32 p) + 0..3, read as one Pack4. Columns at or past the width
// read as 0; in the scalar layout they load the last column and discard it, which keeps the
// loads unpredicated (fewer registers than one predicate per value: no spills at V = 24).

template <bool kVec>
__device__ __forceinline__ int column_of(int lane, int k) {
  return kVec ? 4 * (lane + 32 * (k / 4)) + k % 4 : lane + 32 * k;
}

template <int V, bool kVec, typename T>
__device__ __forceinline__ void load_row(const T* __restrict__ row, int width, int lane,
                                         float (&v)[V]) {
  if constexpr (kVec) {
    static_assert(V % 4 == 0, "the vector layout takes whole packs");
#pragma unroll
    for (int p = 0; p < V / 4; ++p) {
      const int c = 4 * (lane + 32 * p);
      Pack4<T> pack;
      if (c < width) {
        pack = *reinterpret_cast<const Pack4<T>*>(row + c);
      } else {
#pragma unroll
        for (int e = 0; e < 4; ++e) pack.v[e] = from_float<T>(0.0f);
      }
#pragma unroll
      for (int e = 0; e < 4; ++e) v[4 * p + e] = to_float(pack.v[e]);
    }
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const int c = lane + 32 * k;
      const float value = to_float(row[min(c, width - 1)]);
      v[k] = c < width ? value : 0.0f;
    }
  }
}

template <int V, bool kVec, typename T>
__device__ __forceinline__ void store_row(T* __restrict__ row, int width, int lane,
                                          const float (&v)[V]) {
  if constexpr (kVec) {
#pragma unroll
    for (int p = 0; p < V / 4; ++p) {
      const int c = 4 * (lane + 32 * p);
      if (c < width) {
        Pack4<T> pack;
#pragma unroll
        for (int e = 0; e < 4; ++e) pack.v[e] = from_float<T>(v[4 * p + e]);
        *reinterpret_cast<Pack4<T>*>(row + c) = pack;
      }
    }
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const int c = lane + 32 * k;
      if (c < width) row[c] = from_float<T>(v[k]);
    }
  }
}

// ---- forward ---------------------------------------------------------------------------------

/// y = LayerNorm(x) per row; with kAdd, LayerNorm(x + branch) and that float32 sum stored to
/// sum_out (branch and sum_out are unused without kAdd).
template <typename T, int V, bool kVec, bool kAdd, typename B>
__global__ void __launch_bounds__(kThreads)
    forward_kernel(const float* __restrict__ x, const B* __restrict__ branch,
                   const float* __restrict__ weight, const float* __restrict__ bias, int rows,
                   int width, float eps, float* __restrict__ sum_out, T* __restrict__ y,
                   float* __restrict__ mean_out, float* __restrict__ rstd_out) {
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int row = static_cast<int>(blockIdx.x) * kWarps + static_cast<int>(threadIdx.x) / 32;
  if (row >= rows) return;  // whole warps leave; nothing below synchronises the block
  const std::int64_t offset = static_cast<std::int64_t>(row) * width;
  const float inv_width = 1.0f / static_cast<float>(width);
  float v[V], w[V], b[V];
  load_row<V, kVec>(x + offset, width, lane, v);
  if constexpr (kAdd) {
    // w holds the branch until the weight replaces it; past the width both rows read 0.
    load_row<V, kVec>(branch + offset, width, lane, w);
#pragma unroll
    for (int k = 0; k < V; ++k) v[k] += w[k];
    store_row<V, kVec>(sum_out + offset, width, lane, v);
  }
  float sum = 0.0f;
#pragma unroll
  for (int k = 0; k < V; ++k) sum += v[k];  // columns past the width hold 0
  const float mean = warp_sum(sum) * inv_width;
  float squares = 0.0f;
#pragma unroll
  for (int k = 0; k < V; ++k) {
    const float d = v[k] - mean;
    if (column_of<kVec>(lane, k) < width) squares += d * d;
  }
  const float rstd = rsqrtf(warp_sum(squares) * inv_width + eps);
  load_row<V, kVec>(weight, width, lane, w);
  load_row<V, kVec>(bias, width, lane, b);
#pragma unroll
  for (int k = 0; k < V; ++k) v[k] = (v[k] - mean) * rstd * w[k] + b[k];
  store_row<V, kVec>(y + offset, width, lane, v);
  if (lane == 0) {
    mean_out[row] = mean;
    rstd_out[row] = rstd;
  }
}

// ---- backward --------------------------------------------------------------------------------

/// Backward blocks per SM for V values per lane. The launch bounds cap registers to match (about
/// 2 V live floats per thread: xhat and g), so that many blocks are resident at once: the grid
/// is exactly that many per SM and never runs in two waves. Measured on an H100 (C = 768): 5
/// blocks of 4 warps reach 2.75 TB/s; 8-warp blocks with register accumulators reached 2.0.
template <int V>
constexpr int kBackwardBlocksPerSm = V <= 8 ? 8 : (V <= 24 ? 5 : 4);

/// acc[c] += v for the lane's columns c (acc indexed by column in either layout; columns past
/// the width add the zeros they hold).
template <int V, bool kVec>
__device__ __forceinline__ void add_row(float* acc, int lane, const float (&v)[V]) {
  if constexpr (kVec) {
#pragma unroll
    for (int p = 0; p < V / 4; ++p) {
      auto* slot = reinterpret_cast<float4*>(acc) + lane + 32 * p;  // columns 4 (lane + 32 p) + e
      float4 a = *slot;
      a.x += v[4 * p];
      a.y += v[4 * p + 1];
      a.z += v[4 * p + 2];
      a.w += v[4 * p + 3];
      *slot = a;
    }
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) acc[lane + 32 * k] += v[k];
  }
}

/// Writes dx (+ dsum with kDsum) of one row to dx and, for B other than float, to dbranch in B.
/// Each element (or pack) is read, added and stored under one bounds test, so no row of dsum is
/// held in registers.
template <int V, bool kVec, bool kDsum, typename B>
__device__ __forceinline__ void store_dx(const float* __restrict__ dsum, float* __restrict__ dx,
                                         B* __restrict__ dbranch, std::int64_t offset, int width,
                                         int lane, const float (&v)[V]) {
  constexpr bool kBranch = !std::is_same_v<B, float>;
  if constexpr (kVec) {
#pragma unroll
    for (int p = 0; p < V / 4; ++p) {
      const int c = 4 * (lane + 32 * p);
      if (c < width) {
        Pack4<float> d;
#pragma unroll
        for (int e = 0; e < 4; ++e) d.v[e] = v[4 * p + e];
        if constexpr (kDsum) {
          const auto in = *reinterpret_cast<const Pack4<float>*>(dsum + offset + c);
#pragma unroll
          for (int e = 0; e < 4; ++e) d.v[e] += in.v[e];
        }
        *reinterpret_cast<Pack4<float>*>(dx + offset + c) = d;
        if constexpr (kBranch) {
          Pack4<B> out;
#pragma unroll
          for (int e = 0; e < 4; ++e) out.v[e] = from_float<B>(d.v[e]);
          *reinterpret_cast<Pack4<B>*>(dbranch + offset + c) = out;
        }
      }
    }
  } else {
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const int c = lane + 32 * k;
      if (c < width) {
        float d = v[k];
        if constexpr (kDsum) d += dsum[offset + c];
        dx[offset + c] = d;
        if constexpr (kBranch) dbranch[offset + c] = from_float<B>(d);
      }
    }
  }
}

/// dx for the rows blockIdx.x * kBackwardWarps + warp + k * gridDim.x * kBackwardWarps, and the
/// block's partial dweight and dbias sums in partial[blockIdx.x, 0 and 1, :]. Each warp adds its
/// rows' dy * xhat and dy into its own shared-memory row (one lane per column, in row order), so
/// the sums do not depend on scheduling; keeping them in registers instead would cost 2 V
/// registers per thread and half the resident warps. With kDsum, dx also gets dsum (the gradient
/// of the LayerNorm's input from its other users); a B other than float also writes that dx to
/// dbranch in B (a float32 branch takes dx itself, so it needs no copy).
template <typename T, int V, bool kVec, bool kDsum, typename B>
__global__ void __launch_bounds__(kBackwardThreads, kBackwardBlocksPerSm<V>)
    backward_rows_kernel(const T* __restrict__ dy, const float* __restrict__ dsum,
                         const float* __restrict__ x, const float* __restrict__ mean,
                         const float* __restrict__ rstd, const float* __restrict__ weight, int rows,
                         int width, float* __restrict__ dx, B* __restrict__ dbranch,
                         float* __restrict__ partial) {
  constexpr int kColumns = 32 * V;  // columns a warp covers, the width rounded up
  __shared__ __align__(16) float sums[kBackwardWarps][2][kColumns];  // dweight, dbias per warp
  __shared__ __align__(16) float weight_shared[kColumns];            // 0 past the width
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  for (int c = static_cast<int>(threadIdx.x); c < kColumns; c += kBackwardThreads) {
    weight_shared[c] = c < width ? weight[c] : 0.0f;
#pragma unroll
    for (int w = 0; w < kBackwardWarps; ++w) sums[w][0][c] = sums[w][1][c] = 0.0f;
  }
  __syncthreads();
  const float inv_width = 1.0f / static_cast<float>(width);
  const int stride = static_cast<int>(gridDim.x) * kBackwardWarps;
  for (int row = static_cast<int>(blockIdx.x) * kBackwardWarps + warp; row < rows; row += stride) {
    const std::int64_t offset = static_cast<std::int64_t>(row) * width;
    float xhat[V], g[V];
    load_row<V, kVec>(x + offset, width, lane, xhat);
    load_row<V, kVec>(dy + offset, width, lane, g);  // dy for now; dy * weight below
    const float m = mean[row], r = rstd[row];
#pragma unroll
    for (int k = 0; k < V; ++k)
      xhat[k] = column_of<kVec>(lane, k) < width ? (xhat[k] - m) * r : 0.0f;
    add_row<V, kVec>(sums[warp][1], lane, g);
    float w[V];
    load_row<V, kVec>(weight_shared, kColumns, lane, w);
    float sum_g = 0.0f, sum_g_xhat = 0.0f;
#pragma unroll
    for (int k = 0; k < V; ++k) {
      const float dy_xhat = g[k] * xhat[k];
      g[k] *= w[k];
      w[k] = dy_xhat;  // the weight is spent: its registers carry dy * xhat to the sums
      sum_g += g[k];
      sum_g_xhat += g[k] * xhat[k];
    }
    add_row<V, kVec>(sums[warp][0], lane, w);
    const float mean_g = warp_sum(sum_g) * inv_width;
    const float mean_g_xhat = warp_sum(sum_g_xhat) * inv_width;
#pragma unroll
    for (int k = 0; k < V; ++k) xhat[k] = r * (g[k] - mean_g - xhat[k] * mean_g_xhat);
    store_dx<V, kVec, kDsum>(dsum, dx, dbranch, offset, width, lane, xhat);
  }
  __syncthreads();
  float* out = partial + static_cast<std::int64_t>(blockIdx.x) * 2 * width;
  for (int c = static_cast<int>(threadIdx.x); c < width; c += kBackwardThreads) {
    float dweight = 0.0f, dbias = 0.0f;
#pragma unroll
    for (int w = 0; w < kBackwardWarps; ++w) {
      dweight += sums[w][0][c];
      dbias += sums[w][1][c];
    }
    out[c] = dweight;
    out[width + c] = dbias;
  }
}

/// Column c of [dweight, dbias] (c < 2 width) = sum over b of partial[b, c], always in the same
/// order: warp w of a block adds blocks w, w + kSumWarps, ... for 32 columns, then warp 0 adds
/// the kSumWarps sums. Many warps per column keep this short next to the rows kernel (with 8,
/// the hundreds of partials per column took about 5% of the backward).
__global__ void __launch_bounds__(kSumWarps * 32)
    sum_partials_kernel(const float* __restrict__ partial, int blocks, int width,
                        float* __restrict__ dweight, float* __restrict__ dbias) {
  __shared__ float sums[kSumWarps][32];
  const int warp = static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  const int columns = 2 * width;
  const int c = static_cast<int>(blockIdx.x) * 32 + lane;
  float s = 0.0f;
  if (c < columns) {
#pragma unroll 4
    for (int b = warp; b < blocks; b += kSumWarps)
      s += partial[static_cast<std::int64_t>(b) * columns + c];
  }
  sums[warp][lane] = s;
  __syncthreads();
  if (warp == 0 && c < columns) {
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < kSumWarps; ++w) total += sums[w][lane];
    if (c < width) {
      dweight[c] = total;
    } else {
      dbias[c - width] = total;
    }
  }
}

// ---- launchers -------------------------------------------------------------------------------

bool valid_shape(std::int64_t rows, std::int64_t width) {
  return rows >= 0 && rows <= INT_MAX && width >= 1 && width <= kLayerNormMaxWidth;
}

bool aligned(const void* p, std::size_t bytes) {
  return reinterpret_cast<std::uintptr_t>(p) % bytes == 0;
}

/// Calls f(std::integral_constant<int, V>{}) with the smallest instantiated V (values per lane)
/// for which 32 V covers `width`.
template <typename F>
cudaError_t with_values_per_lane(std::int64_t width, F&& f) {
  const auto per_lane = (width + 31) / 32;
  if (per_lane <= 1) return f(std::integral_constant<int, 1>{});
  if (per_lane <= 2) return f(std::integral_constant<int, 2>{});
  if (per_lane <= 4) return f(std::integral_constant<int, 4>{});
  if (per_lane <= 8) return f(std::integral_constant<int, 8>{});
  if (per_lane <= 16) return f(std::integral_constant<int, 16>{});
  if (per_lane <= 24) return f(std::integral_constant<int, 24>{});
  if (per_lane <= 32) return f(std::integral_constant<int, 32>{});
  return cudaErrorInvalidValue;
}

/// SMs of the current device, asked once per device: the backward's grid is sized by it on
/// every call.
cudaError_t sm_count(int* count) {
  static std::atomic<int> cached[kMaxDevices] = {};
  int device = 0;
  cudaError_t status = cudaGetDevice(&device);
  if (status != cudaSuccess) return status;
  if (device >= 0 && device < kMaxDevices) {
    *count = cached[device].load(std::memory_order_relaxed);
    if (*count > 0) return cudaSuccess;
  }
  status = cudaDeviceGetAttribute(count, cudaDevAttrMultiProcessorCount, device);
  if (status != cudaSuccess) return status;
  if (device >= 0 && device < kMaxDevices) cached[device].store(*count, std::memory_order_relaxed);
  return cudaSuccess;
}

/// Passes a C++ element type as a value: with_element_type below hands one to its callable.
template <typename T>
struct TypeTag {
  using type = T;
};

/// Calls f(TypeTag<T>{}) with the device element type of `type`.
template <typename F>
cudaError_t with_element_type(NormOutputType type, F&& f) {
  switch (type) {
    case NormOutputType::kFloat32:
      return f(TypeTag<float>{});
    case NormOutputType::kBFloat16:
      return f(TypeTag<__nv_bfloat16>{});
    case NormOutputType::kFloat16:
      return f(TypeTag<__half>{});
  }
  return cudaErrorInvalidValue;
}

/// forward_kernel<T, V, vec, kAdd, B> for the width, vectorised where every row it touches is
/// 16-byte aligned.
template <typename T, bool kAdd, typename B>
cudaError_t launch_forward(const float* x, const B* branch, const float* weight, const float* bias,
                           std::int64_t rows, std::int64_t width, float eps, float* sum_out,
                           void* y, float* mean, float* rstd, cudaStream_t stream) {
  const bool vec_ok = width % 4 == 0 && aligned(x, 16) && aligned(weight, 16) &&
                      aligned(bias, 16) && aligned(y, 4 * sizeof(T)) &&
                      (!kAdd || (aligned(branch, 4 * sizeof(B)) && aligned(sum_out, 16)));
  const auto blocks = static_cast<unsigned>((rows + kWarps - 1) / kWarps);
  const int r = static_cast<int>(rows), w = static_cast<int>(width);
  auto* out = static_cast<T*>(y);
  return with_values_per_lane(width, [&](auto per_lane) {
    constexpr int V = decltype(per_lane)::value;
    if constexpr (V % 4 == 0) {
      if (vec_ok) {
        forward_kernel<T, V, true, kAdd><<<blocks, kThreads, 0, stream>>>(
            x, branch, weight, bias, r, w, eps, sum_out, out, mean, rstd);
        return cudaGetLastError();
      }
    }
    forward_kernel<T, V, false, kAdd><<<blocks, kThreads, 0, stream>>>(
        x, branch, weight, bias, r, w, eps, sum_out, out, mean, rstd);
    return cudaGetLastError();
  });
}

/// backward_rows_kernel<T, V, vec, kDsum, B> for the width, then the partial sums.
template <typename T, bool kDsum, typename B>
cudaError_t launch_backward(const void* dy, const float* dsum, const float* x, const float* mean,
                            const float* rstd, const float* weight, std::int64_t rows,
                            std::int64_t width, float* dx, B* dbranch, float* dweight, float* dbias,
                            float* partial, int blocks, cudaStream_t stream) {
  // The weight is read once per block into shared memory: its alignment does not matter here.
  const bool vec_ok = width % 4 == 0 && aligned(dy, 4 * sizeof(T)) && aligned(x, 16) &&
                      aligned(dx, 16) && (!kDsum || aligned(dsum, 16)) &&
                      (std::is_same_v<B, float> || aligned(dbranch, 4 * sizeof(B)));
  const int r = static_cast<int>(rows), w = static_cast<int>(width);
  const auto* g = static_cast<const T*>(dy);
  const cudaError_t status = with_values_per_lane(width, [&](auto per_lane) {
    constexpr int V = decltype(per_lane)::value;
    if constexpr (V % 4 == 0) {
      if (vec_ok) {
        backward_rows_kernel<T, V, true, kDsum><<<blocks, kBackwardThreads, 0, stream>>>(
            g, dsum, x, mean, rstd, weight, r, w, dx, dbranch, partial);
        return cudaGetLastError();
      }
    }
    backward_rows_kernel<T, V, false, kDsum><<<blocks, kBackwardThreads, 0, stream>>>(
        g, dsum, x, mean, rstd, weight, r, w, dx, dbranch, partial);
    return cudaGetLastError();
  });
  if (status != cudaSuccess) return status;
  const auto column_blocks = static_cast<unsigned>((2 * width + 31) / 32);
  sum_partials_kernel<<<column_blocks, kSumWarps * 32, 0, stream>>>(partial, blocks, w, dweight,
                                                                    dbias);
  return cudaGetLastError();
}

}  // namespace

cudaError_t layer_norm_forward(NormOutputType type, const float* x, const float* weight,
                               const float* bias, std::int64_t rows, std::int64_t width, float eps,
                               void* y, float* mean, float* rstd, cudaStream_t stream) {
  if (!valid_shape(rows, width)) return cudaErrorInvalidValue;
  if (rows == 0) return cudaSuccess;
  return with_element_type(type, [&](auto out) {
    using T = typename decltype(out)::type;
    return launch_forward<T, false, float>(x, nullptr, weight, bias, rows, width, eps, nullptr, y,
                                           mean, rstd, stream);
  });
}

cudaError_t add_layer_norm_forward(NormOutputType out_type, BranchType branch_type, const float* x,
                                   const void* branch, const float* weight, const float* bias,
                                   std::int64_t rows, std::int64_t width, float eps, float* sum_out,
                                   void* y, float* mean, float* rstd, cudaStream_t stream) {
  if (!valid_shape(rows, width)) return cudaErrorInvalidValue;
  if (rows == 0) return cudaSuccess;
  return with_element_type(out_type, [&](auto out) {
    using T = typename decltype(out)::type;
    return with_element_type(branch_type, [&](auto branch_tag) {
      using B = typename decltype(branch_tag)::type;
      return launch_forward<T, true, B>(x, static_cast<const B*>(branch), weight, bias, rows, width,
                                        eps, sum_out, y, mean, rstd, stream);
    });
  });
}

cudaError_t layer_norm_backward_blocks(std::int64_t rows, std::int64_t width, int* blocks) {
  if (!valid_shape(rows, width)) return cudaErrorInvalidValue;
  int sms = 0;
  const cudaError_t status = sm_count(&sms);
  if (status != cudaSuccess) return status;
  return with_values_per_lane(width, [&](auto per_lane) {
    constexpr int V = decltype(per_lane)::value;
    const std::int64_t resident = static_cast<std::int64_t>(kBackwardBlocksPerSm<V>) * sms;
    const std::int64_t needed = (rows + kBackwardWarps - 1) / kBackwardWarps;
    *blocks = static_cast<int>(needed < resident ? (needed > 0 ? needed : 1) : resident);
    return cudaSuccess;
  });
}

cudaError_t add_layer_norm_backward(NormOutputType type, BranchType branch_type, const void* dy,
                                    const float* dsum_in, const float* sum, const float* mean,
                                    const float* rstd, const float* weight, std::int64_t rows,
                                    std::int64_t width, float* dx, void* dbranch, float* dweight,
                                    float* dbias, float* partial, int blocks, cudaStream_t stream) {
  if (!valid_shape(rows, width) || blocks < 1) return cudaErrorInvalidValue;
  // rows == 0 still runs both kernels: one block of zero partials sums to zero gradients.
  return with_element_type(type, [&](auto out) {
    using T = typename decltype(out)::type;
    return with_element_type(branch_type, [&](auto branch_tag) {
      // B = float: no second output, dx is the branch's gradient as it is.
      using B = typename decltype(branch_tag)::type;
      auto* db = std::is_same_v<B, float> ? nullptr : static_cast<B*>(dbranch);
      if (dsum_in != nullptr)
        return launch_backward<T, true, B>(dy, dsum_in, sum, mean, rstd, weight, rows, width, dx,
                                           db, dweight, dbias, partial, blocks, stream);
      return launch_backward<T, false, B>(dy, nullptr, sum, mean, rstd, weight, rows, width, dx, db,
                                          dweight, dbias, partial, blocks, stream);
    });
  });
}

}  // namespace rebench::lm::detail
