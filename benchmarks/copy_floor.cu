// The physical floor of the prefix-sum task on this GPU: a device-to-device copy of n int32
// (read n + write n), timed like a solution (L2 flushed, CUDA events, median).
#include <cuda_runtime.h>

#include <algorithm>
#include <vector>

#include "copy_floor.hpp"

double copy_floor_ms(long long n, int samples) {
  int* x = nullptr;
  int* y = nullptr;
  void* flush = nullptr;
  int l2 = 0;
  cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0);
  if (cudaMalloc(&x, n * sizeof(int)) != cudaSuccess ||
      cudaMalloc(&y, n * sizeof(int)) != cudaSuccess ||
      cudaMalloc(&flush, 2 * size_t(l2)) != cudaSuccess)
    return -1;
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  std::vector<float> times;
  for (int i = 0; i < samples + 3; ++i) {
    cudaMemset(flush, i, 2 * size_t(l2));
    cudaEventRecord(start);
    cudaMemcpyAsync(y, x, n * sizeof(int), cudaMemcpyDeviceToDevice);
    cudaEventRecord(stop);
    cudaEventSynchronize(stop);
    float ms = 0;
    cudaEventElapsedTime(&ms, start, stop);
    if (i >= 3) times.push_back(ms);
  }
  cudaFree(x);
  cudaFree(y);
  cudaFree(flush);
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}
