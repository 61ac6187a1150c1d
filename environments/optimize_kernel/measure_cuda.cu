// GPU-profile measurement: edge cases, warm-ups, then timed calls, each on a fresh input
// generated on the device, with L2 flushed before, CUDA events around the call on the caller's
// stream, a host wall-clock cross-check, and an exact on-device comparison with our own
// implementation (three CUB passes) after every call.
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <thrust/iterator/transform_iterator.h>
#include <cub/device/device_scan.cuh>

#include "optimize_kernel/kernel_task.hpp"
#include "optimize_kernel/measure.hpp"

namespace rebench::optimize_kernel {

namespace {

struct CudaFailure {
  std::string what;
};

void check(cudaError_t status, const char* what) {
  if (status != cudaSuccess)
    throw CudaFailure{std::string(what) + ": " + cudaGetErrorString(status)};
}

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

__global__ void generate_kernel(uint64_t seed, int32_t* x, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x) {
    uint64_t z = seed + 0x9E3779B97F4A7C15ull * (uint64_t(i) + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    x[i] = int32_t(z % 20) - 10;
  }
}

struct IsPositive {
  __host__ __device__ int32_t operator()(int32_t v) const { return v > 0 ? 1 : 0; }
};

__global__ void mask_kernel(const int32_t* x, const int32_t* positives_before, int32_t* masked,
                            int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    masked[i] = (positives_before[i] & 1) ? x[i] : 0;
}

__global__ void compare_kernel(const int32_t* expected, const int32_t* actual, int64_t n,
                               unsigned long long* first_bad) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    if (expected[i] != actual[i]) atomicMin(first_bad, (unsigned long long)i);
}

/// Device buffers for the harness's own computation of the expected output.
class Checker {
 public:
  Checker(int64_t n, cudaStream_t stream) : n_(n), stream_(stream) {
    check(cudaMalloc(&count_, n * sizeof(int32_t)), "cudaMalloc");
    check(cudaMalloc(&expected_, n * sizeof(int32_t)), "cudaMalloc");
    check(cudaMalloc(&first_bad_, sizeof(unsigned long long)), "cudaMalloc");
    auto positive =
        thrust::make_transform_iterator(static_cast<const int32_t*>(count_), IsPositive{});
    size_t a = 0, b = 0;
    check(cub::DeviceScan::ExclusiveSum(nullptr, a, positive, count_, n), "cub size");
    check(cub::DeviceScan::InclusiveSum(nullptr, b, count_, expected_, n), "cub size");
    temp_bytes_ = std::max(a, b);
    check(cudaMalloc(&temp_, temp_bytes_), "cudaMalloc");
  }
  ~Checker() {
    cudaFree(count_);
    cudaFree(expected_);
    cudaFree(first_bad_);
    cudaFree(temp_);
  }
  /// Returns the first index where `actual` differs from the correct output of `x`, or -1.
  int64_t first_mismatch(const int32_t* x, const int32_t* actual, int64_t n) {
    size_t bytes = temp_bytes_;
    auto positive = thrust::make_transform_iterator(x, IsPositive{});
    check(cub::DeviceScan::ExclusiveSum(temp_, bytes, positive, count_, n, stream_), "scan");
    mask_kernel<<<1024, 256, 0, stream_>>>(x, count_, count_, n);  // in place: reads before write
    check(cub::DeviceScan::InclusiveSum(temp_, bytes, count_, expected_, n, stream_), "scan");
    unsigned long long none = ~0ull;
    check(cudaMemcpyAsync(first_bad_, &none, sizeof none, cudaMemcpyHostToDevice, stream_), "copy");
    compare_kernel<<<1024, 256, 0, stream_>>>(expected_, actual, n, first_bad_);
    unsigned long long bad = 0;
    check(cudaMemcpyAsync(&bad, first_bad_, sizeof bad, cudaMemcpyDeviceToHost, stream_), "copy");
    check(cudaStreamSynchronize(stream_), "verification");
    return bad == ~0ull ? -1 : int64_t(bad);
  }
  int32_t expected_at(int64_t i) {
    int32_t v = 0;
    check(cudaMemcpy(&v, expected_ + i, sizeof v, cudaMemcpyDeviceToHost), "copy");
    return v;
  }

 private:
  int64_t n_;
  cudaStream_t stream_;
  int32_t* count_ = nullptr;
  int32_t* expected_ = nullptr;
  unsigned long long* first_bad_ = nullptr;
  void* temp_ = nullptr;
  size_t temp_bytes_ = 0;
};

}  // namespace

Measurement measure_on_cuda(PrefixSumFn fn, const MeasureSettings& settings) {
  Measurement m;
  cudaStream_t stream = nullptr;
  int32_t *x = nullptr, *y = nullptr, *y_storage = nullptr;
  constexpr int64_t kGuard = 1 << 16;  // int32 words of guard zone on each side of the output
  constexpr unsigned char kGuardByte = 0x5E;
  void* flush = nullptr;
  try {
    int device = 0;
    check(cudaSetDevice(device), "no usable CUDA device");
    cudaDeviceProp props{};
    check(cudaGetDeviceProperties(&props, device), "cudaGetDeviceProperties");
    int driver = 0;
    cudaDriverGetVersion(&driver);
    m.device_name = props.name;
    m.device_detail = "sm_" + std::to_string(props.major) + std::to_string(props.minor) + ", " +
                      std::to_string(props.multiProcessorCount) + " SMs, L2 " +
                      std::to_string(props.l2CacheSize >> 20) + " MiB, driver " +
                      std::to_string(driver / 1000) + "." + std::to_string(driver % 1000 / 10);
    check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate");
    const int64_t n = settings.n;
    check(cudaMalloc(&x, n * sizeof(int32_t)), "cudaMalloc input");
    check(cudaMalloc(&y_storage, (n + 2 * kGuard) * sizeof(int32_t)), "cudaMalloc output");
    y = y_storage + kGuard;
    // Guard zones right before y and right after y + len (len: the current call's length).
    auto arm_guards = [&](int64_t len) {
      check(cudaMemsetAsync(y_storage, kGuardByte, kGuard * sizeof(int32_t), stream), "memset");
      check(cudaMemsetAsync(y + len, kGuardByte, kGuard * sizeof(int32_t), stream), "memset");
    };
    auto guards_intact = [&](int64_t len) -> bool {
      std::vector<unsigned char> host(kGuard * sizeof(int32_t));
      for (const int32_t* zone :
           {static_cast<const int32_t*>(y_storage), static_cast<const int32_t*>(y + len)}) {
        check(cudaMemcpyAsync(host.data(), zone, host.size(), cudaMemcpyDeviceToHost, stream),
              "copy");
        check(cudaStreamSynchronize(stream), "sync");
        for (unsigned char b : host)
          if (b != kGuardByte) return false;
      }
      return true;
    };
    const size_t flush_bytes = size_t(std::max(props.l2CacheSize, 1 << 20)) * 2;
    check(cudaMalloc(&flush, flush_bytes), "cudaMalloc L2 flush buffer");
    Checker checker(n, stream);

    auto run_checked = [&](int64_t len, const std::string& what) -> bool {
      check(cudaMemsetAsync(y, 0xA5, len * sizeof(int32_t), stream), "memset");
      arm_guards(len);
      check(cudaStreamSynchronize(stream), "sync");
      int rc = fn(x, y, len, stream);
      cudaError_t status = cudaStreamSynchronize(stream);
      if (status == cudaSuccess) status = cudaDeviceSynchronize();
      if (status != cudaSuccess) {
        m.message = what + ": CUDA error after the call: " + cudaGetErrorString(status);
        return false;
      }
      if (rc != 0) {
        m.message = what + ": the solution returned error code " + std::to_string(rc);
        return false;
      }
      if (!guards_intact(len)) {
        m.message = what + ": the solution wrote outside the output buffer";
        return false;
      }
      int64_t bad = checker.first_mismatch(x, y, len);
      if (bad >= 0) {
        int32_t got = 0;
        check(cudaMemcpy(&got, y + bad, sizeof got, cudaMemcpyDeviceToHost), "copy");
        m.message = what + ": wrong output at index " + std::to_string(bad) + " of " +
                    std::to_string(len) + ": expected " + std::to_string(checker.expected_at(bad)) +
                    ", got " + std::to_string(got);
        return false;
      }
      return true;
    };

    for (const EdgeCase& edge : edge_cases(settings.seed)) {
      int64_t len = int64_t(edge.input.size());
      // On the (non-blocking) stream, so the copy is ordered before the call.
      check(cudaMemcpyAsync(x, edge.input.data(), len * sizeof(int32_t), cudaMemcpyHostToDevice,
                            stream),
            "copy");
      check(cudaStreamSynchronize(stream), "sync");
      if (!run_checked(len, std::string("edge case ") + edge.name)) return m;
    }
    for (int w = 0; w < settings.warmups; ++w) {
      generate_kernel<<<2048, 256, 0, stream>>>(sample_seed(settings.seed, -1 - w), x, n);
      if (!run_checked(n, "warm-up " + std::to_string(w))) return m;
    }

    cudaEvent_t start, stop;
    check(cudaEventCreate(&start), "cudaEventCreate");
    check(cudaEventCreate(&stop), "cudaEventCreate");
    for (int k = 0; k < settings.samples; ++k) {
      generate_kernel<<<2048, 256, 0, stream>>>(sample_seed(settings.seed, k), x, n);
      check(cudaMemsetAsync(y, 0xA5, n * sizeof(int32_t), stream), "memset");
      arm_guards(n);
      check(cudaMemsetAsync(flush, k & 0xff, flush_bytes, stream), "L2 flush");
      check(cudaStreamSynchronize(stream), "sync");
      const double h0 = now_ms();
      check(cudaEventRecord(start, stream), "cudaEventRecord");
      int rc = fn(x, y, n, stream);
      check(cudaEventRecord(stop, stream), "cudaEventRecord");
      cudaError_t status = cudaStreamSynchronize(stream);
      const double h1 = now_ms();
      if (status == cudaSuccess) status = cudaDeviceSynchronize();
      const double h2 = now_ms();
      if (status != cudaSuccess) {
        m.message =
            "timed call " + std::to_string(k) + ": CUDA error: " + cudaGetErrorString(status);
        return m;
      }
      if (rc != 0) {
        m.message = "timed call " + std::to_string(k) + ": the solution returned error code " +
                    std::to_string(rc);
        return m;
      }
      float ms = 0;
      check(cudaEventElapsedTime(&ms, start, stop), "cudaEventElapsedTime");
      if (!guards_intact(n)) {
        m.message =
            "timed call " + std::to_string(k) + ": the solution wrote outside the output buffer";
        return m;
      }
      m.samples_ms.push_back(ms);
      m.host_ms.push_back(h1 - h0);
      m.tail_ms.push_back(h2 - h1);
      int64_t bad = checker.first_mismatch(x, y, n);
      if (bad >= 0) {
        m.message = "timed call " + std::to_string(k) + ": wrong output at index " +
                    std::to_string(bad) + " of " + std::to_string(n);
        return m;
      }
      if (k == 0) {
        std::vector<int32_t> host(static_cast<size_t>(n));
        check(cudaMemcpy(host.data(), y, n * sizeof(int32_t), cudaMemcpyDeviceToHost), "copy");
        m.checksum0 = checksum(host.data(), n);
      }
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);

    // Cross-checks: work outside the timed region (side streams, host-side waits) makes the host
    // clock or the device-wide sync disagree with the events.
    std::vector<double> host = m.host_ms, events = m.samples_ms, tail = m.tail_ms;
    std::sort(host.begin(), host.end());
    std::sort(events.begin(), events.end());
    std::sort(tail.begin(), tail.end());
    const double host_median = host[host.size() / 2];
    const double event_median = events[events.size() / 2];
    const double tail_median = tail[tail.size() / 2];
    if (host_median > 2.0 * event_median + 0.3 || tail_median > 0.5) {
      m.suspicious_timing = true;
      char note[256];
      std::snprintf(note, sizeof note,
                    "host wall clock %.3f ms and device-wide drain %.3f ms do not match the "
                    "event time %.3f ms: work ran outside the timed stream",
                    host_median, tail_median, event_median);
      m.timing_note = note;
    }
    m.correct = true;
  } catch (const CudaFailure& failure) {
    m.correct = false;
    m.message = failure.what;
  }
  cudaFree(x);
  cudaFree(y_storage);
  cudaFree(flush);
  if (stream != nullptr) cudaStreamDestroy(stream);
  return m;
}

}  // namespace rebench::optimize_kernel
