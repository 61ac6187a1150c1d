// Reference solution (GPU profile) for optimize_kernel: the PyTorch algorithm ported op by op to
// plain CUDA (elementwise kernel, CUB scan, elementwise kernel, CUB scan), every intermediate
// materialised in global memory. Sets the reference score (~1.6 ms at n = 1e8 on an H100).
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include <cub/device/device_scan.cuh>

namespace {

constexpr int kBlock = 256;

// is_positive = x > 0, as 0/1 ready to be summed.
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

// Scratch (the positive counts, then CUB's temp storage) cached per device and grown on demand.
// Not cudaMallocAsync per call: with the default pool's release threshold of 0, the pool returns
// the memory at every synchronisation and the next call pays ~0.6 ms to map 400 MB again, so the
// reference's time would depend on how the caller paces its calls.
constexpr int kMaxDevices = 64;
struct Scratch {
  void* ptr = nullptr;
  size_t bytes = 0;
};
Scratch g_scratch[kMaxDevices];

cudaError_t reserve(Scratch& scratch, size_t bytes) {
  if (scratch.bytes >= bytes) return cudaSuccess;
  if (scratch.ptr) cudaFree(scratch.ptr);  // synchronises: earlier launches are done with it
  scratch = Scratch{};
  const cudaError_t err = cudaMalloc(&scratch.ptr, bytes);
  if (err == cudaSuccess) scratch.bytes = bytes;
  return err;
}

}  // namespace

extern "C" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void* stream_ptr) {
  if (n < 1) return static_cast<int>(cudaErrorInvalidValue);
  cudaStream_t stream = static_cast<cudaStream_t>(stream_ptr);
  int device = 0;
  cudaError_t err = cudaGetDevice(&device);
  if (err != cudaSuccess) return static_cast<int>(err);
  if (device >= kMaxDevices) return static_cast<int>(cudaErrorInvalidDevice);

  // Sums run in uint32 so that overflow wraps exactly like int32 two's complement.
  uint32_t* out = reinterpret_cast<uint32_t*>(y);
  size_t scan_temp_bytes = 0;
  err = cub::DeviceScan::InclusiveSum(nullptr, scan_temp_bytes, out, out, n, stream);
  if (err != cudaSuccess) return static_cast<int>(err);
  const size_t counts_bytes = (static_cast<size_t>(n) * sizeof(uint32_t) + 255) / 256 * 256;
  Scratch& scratch = g_scratch[device];
  err = reserve(scratch, counts_bytes + scan_temp_bytes);
  if (err != cudaSuccess) return static_cast<int>(err);
  auto* counts = static_cast<uint32_t*>(scratch.ptr);
  void* scan_temp = static_cast<char*>(scratch.ptr) + counts_bytes;

  const unsigned int blocks = static_cast<unsigned int>((n + kBlock - 1) / kBlock);
  // positive_count = cumsum(x > 0), scanned in place.
  positive_flags<<<blocks, kBlock, 0, stream>>>(x, counts, n);
  err = cub::DeviceScan::InclusiveSum(scan_temp, scan_temp_bytes, counts, counts, n, stream);
  if (err != cudaSuccess) return static_cast<int>(err);
  // y = cumsum(where(positive_count[i - 1] odd, x[i], 0)), scanned in place in y.
  masked_values<<<blocks, kBlock, 0, stream>>>(x, counts, out, n);
  err = cub::DeviceScan::InclusiveSum(scan_temp, scan_temp_bytes, out, out, n, stream);
  if (err != cudaSuccess) return static_cast<int>(err);
  return static_cast<int>(cudaGetLastError());
}
