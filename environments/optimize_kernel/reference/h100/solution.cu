// Reference solution (GPU profile) for optimize_kernel: the PyTorch algorithm ported to plain
// CUDA, one elementwise kernel or CUB device scan per tensor op, intermediates materialised in
// global memory. Sets the reference score; a fused single-pass scan is several times faster.
#include <cub/device/device_scan.cuh>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace {

constexpr int kBlock = 256;

// flags[i] = x[i] > 0 (as 0/1, ready to be summed).
__global__ void positive_flags(const int32_t* __restrict__ x, uint32_t* __restrict__ flags,
                               int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) flags[i] = x[i] > 0 ? 1u : 0u;
}

// masked[i] = x[i] when the count of positives before i (= counts[i - 1], an inclusive count)
// is odd, else 0.
__global__ void masked_values(const int32_t* __restrict__ x, const uint32_t* __restrict__ counts,
                              uint32_t* __restrict__ masked, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) masked[i] = (i > 0 && (counts[i - 1] & 1u)) ? static_cast<uint32_t>(x[i]) : 0u;
}

}  // namespace

extern "C" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void* stream_ptr) {
  if (n < 1) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  // Sums run in uint32 so that overflow wraps exactly like int32 two's complement.
  uint32_t* out = reinterpret_cast<uint32_t*>(y);
  uint32_t* counts = nullptr;
  void* scan_temp = nullptr;
  size_t scan_temp_bytes = 0;
  cudaError_t err = cub::DeviceScan::InclusiveSum(nullptr, scan_temp_bytes, counts, counts, n,
                                                  stream);
  if (err == cudaSuccess)
    err = cudaMallocAsync(&counts, static_cast<size_t>(n) * sizeof(uint32_t), stream);
  if (err == cudaSuccess) err = cudaMallocAsync(&scan_temp, scan_temp_bytes, stream);
  if (err == cudaSuccess) {
    const unsigned int blocks = static_cast<unsigned int>((n + kBlock - 1) / kBlock);
    // positive_count = cumsum(x > 0)
    positive_flags<<<blocks, kBlock, 0, stream>>>(x, counts, n);
    err = cub::DeviceScan::InclusiveSum(scan_temp, scan_temp_bytes, counts, counts, n, stream);
    // y = cumsum(where(positive_count[i - 1] odd, x[i], 0)), scanned in place in y.
    if (err == cudaSuccess) {
      masked_values<<<blocks, kBlock, 0, stream>>>(x, counts, out, n);
      err = cub::DeviceScan::InclusiveSum(scan_temp, scan_temp_bytes, out, out, n, stream);
    }
  }
  if (scan_temp) cudaFreeAsync(scan_temp, stream);
  if (counts) cudaFreeAsync(counts, stream);
  if (err == cudaSuccess) err = cudaGetLastError();
  return static_cast<int>(err);
}
