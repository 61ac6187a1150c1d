// Standalone checker for the GPU solutions of optimize_kernel: dlopens each solution .so, checks
// it exactly against the CPU oracle in cases.h, and times n = 1e8 the way the harness does.
// Usage: check_solutions [--n N] [--reps R] [--warmups W] NAME=path/to/solution.so ...
#include <cuda_runtime.h>
#include <dlfcn.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cases.h"

using rebench_dev::PrefixSumFn;

#define CUDA_CHECK(call)                                                 \
  do {                                                                   \
    const cudaError_t err_ = (call);                                     \
    if (err_ != cudaSuccess) {                                           \
      std::fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call, \
                   cudaGetErrorString(err_));                            \
      std::exit(3);                                                      \
    }                                                                    \
  } while (0)

namespace {

struct Solution {
  std::string name;
  PrefixSumFn fn = nullptr;
};

// Device buffers reused across cases (grown on demand) so that checking many cases stays fast.
struct DeviceBuffers {
  int32_t* x = nullptr;
  int32_t* y = nullptr;
  int64_t capacity = 0;
  void reserve(int64_t n) {
    if (n <= capacity) return;
    if (x) CUDA_CHECK(cudaFree(x));
    if (y) CUDA_CHECK(cudaFree(y));
    CUDA_CHECK(cudaMalloc(&x, n * sizeof(int32_t)));
    CUDA_CHECK(cudaMalloc(&y, n * sizeof(int32_t)));
    capacity = n;
  }
};

// Runs one case; returns true when the output matches the oracle bit for bit. `offset` > 0
// passes x and y that many elements past the allocation start (not 16-byte aligned): stricter
// than the contract (cudaMalloc'd pointers), used to exercise our solutions' unaligned paths.
bool check_case(const Solution& s, const std::vector<int32_t>& x, const std::string& label,
                DeviceBuffers& buf, cudaStream_t stream, int offset = 0) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<int32_t> want(n), got(n);
  rebench_dev::reference_prefix_sum(x.data(), want.data(), n);
  buf.reserve(n + offset);
  int32_t* dx = buf.x + offset;
  int32_t* dy = buf.y + offset;
  // Set-up goes on `stream` itself: it is non-blocking, so legacy default-stream work (plain
  // cudaMemset) would not be ordered before the solution's kernels and could race with them.
  CUDA_CHECK(cudaMemcpyAsync(dx, x.data(), n * sizeof(int32_t), cudaMemcpyHostToDevice, stream));
  CUDA_CHECK(cudaMemsetAsync(buf.y, 0x5a, (n + offset) * sizeof(int32_t), stream));  // stale fails
  const int rc = s.fn(dx, dy, n, stream);
  const cudaError_t sync = cudaStreamSynchronize(stream);
  int64_t bad = -1;
  if (rc == 0 && sync == cudaSuccess) {
    CUDA_CHECK(cudaMemcpy(got.data(), dy, n * sizeof(int32_t), cudaMemcpyDeviceToHost));
    bad = rebench_dev::first_mismatch(got.data(), want.data(), n);
  }
  if (rc != 0 || sync != cudaSuccess || bad >= 0) {
    std::printf("  FAIL %-16s n=%lld rc=%d sync=%s", label.c_str(), static_cast<long long>(n), rc,
                cudaGetErrorString(sync));
    if (bad >= 0)
      std::printf(" first mismatch at %lld: got %d want %d", static_cast<long long>(bad), got[bad],
                  want[bad]);
    std::printf("\n");
    return false;
  }
  return true;
}

// Median over `reps` samples after `warmups` unrecorded calls. Before every call a memset over
// twice the L2 size evicts x and y from L2, so each sample reads from HBM like a cold call.
// `after` runs after each call has finished, outside the timed interval.
template <typename Call, typename After>
double median_ms(Call call, After after, int warmups, int reps, void* flush, size_t flush_bytes,
                 cudaStream_t stream) {
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  std::vector<float> ms;
  for (int r = 0; r < warmups + reps; ++r) {
    CUDA_CHECK(cudaMemsetAsync(flush, r & 0xff, flush_bytes, stream));
    CUDA_CHECK(cudaEventRecord(start, stream));
    call();
    CUDA_CHECK(cudaEventRecord(stop, stream));
    CUDA_CHECK(cudaEventSynchronize(stop));
    float t = 0;
    CUDA_CHECK(cudaEventElapsedTime(&t, start, stop));
    if (r >= warmups) ms.push_back(t);
    after();
  }
  CUDA_CHECK(cudaEventDestroy(start));
  CUDA_CHECK(cudaEventDestroy(stop));
  std::sort(ms.begin(), ms.end());
  return reps % 2 ? ms[reps / 2] : 0.5 * (ms[reps / 2 - 1] + ms[reps / 2]);
}

}  // namespace

int main(int argc, char** argv) {
  int64_t big_n = 100'000'000;
  int reps = 20, warmups = 3;
  std::vector<Solution> solutions;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--n") && i + 1 < argc) {
      big_n = std::atoll(argv[++i]);
    } else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--warmups") && i + 1 < argc) {
      warmups = std::atoi(argv[++i]);
    } else {
      const std::string arg = argv[i];
      const size_t eq = arg.find('=');
      const std::string name = eq == std::string::npos ? arg : arg.substr(0, eq);
      const std::string path = eq == std::string::npos ? arg : arg.substr(eq + 1);
      void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        std::fprintf(stderr, "dlopen %s: %s\n", path.c_str(), dlerror());
        return 2;
      }
      auto fn = reinterpret_cast<PrefixSumFn>(dlsym(handle, "rebench_prefix_sum"));
      if (!fn) {
        std::fprintf(stderr, "%s: no symbol rebench_prefix_sum\n", path.c_str());
        return 2;
      }
      solutions.push_back({name, fn});
    }
  }
  if (solutions.empty() || reps < 1) {
    std::fprintf(stderr, "usage: %s [--n N] [--reps R] [--warmups W] NAME=solution.so ...\n",
                 argv[0]);
    return 2;
  }

  cudaDeviceProp prop;
  CUDA_CHECK(cudaGetDeviceProperties(&prop, 0));
  std::printf("device: %s, %d SMs, L2 %d MiB\n", prop.name, prop.multiProcessorCount,
              prop.l2CacheSize >> 20);
  // A non-default stream: a solution that ignores it is timed wrongly and may fail the check.
  cudaStream_t stream;
  CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  const size_t flush_bytes = 2 * static_cast<size_t>(prop.l2CacheSize);
  void* flush = nullptr;
  CUDA_CHECK(cudaMalloc(&flush, flush_bytes));

  const auto cases = rebench_dev::edge_cases();
  const auto big_x = rebench_dev::random_values(big_n, 42);
  std::vector<int32_t> big_want(big_n), big_got(big_n);
  rebench_dev::reference_prefix_sum(big_x.data(), big_want.data(), big_n);
  DeviceBuffers buf;
  buf.reserve(big_n);

  // Copy floor: one device-to-device copy of n int32 reads and writes the same bytes as the task.
  const double copy_ms = median_ms(
      [&] {
        CUDA_CHECK(cudaMemcpyAsync(buf.y, buf.x, big_n * sizeof(int32_t), cudaMemcpyDeviceToDevice,
                                   stream));
      },
      [] {}, warmups, reps, flush, flush_bytes, stream);
  const double gbytes = 2.0 * big_n * sizeof(int32_t) / 1e9;
  std::printf("copy floor (n=%lld): %.3f ms, %.0f GB/s\n\n", static_cast<long long>(big_n), copy_ms,
              gbytes / copy_ms * 1e3);

  bool all_ok = true;
  std::printf("%-12s %8s %12s %10s %10s\n", "solution", "correct", "median_ms", "GB/s", "x_copy");
  for (const auto& s : solutions) {
    bool ok = true;
    for (const auto& c : cases) ok &= check_case(s, c.x, c.name, buf, stream);
    ok &= check_case(s, cases.back().x, "unaligned ptrs", buf, stream, /*offset=*/1);
    ok &= check_case(s, big_x, "big random", buf, stream);  // leaves big_x in buf.x
    // Every timed call is verified too (after its sample is taken): a scan with a rare race
    // would fail here rather than slip through one lucky check.
    int rc = 0;
    int64_t bad_samples = 0;
    const double ms = median_ms(
        [&] { rc |= s.fn(buf.x, buf.y, big_n, stream); },
        [&] {
          CUDA_CHECK(
              cudaMemcpy(big_got.data(), buf.y, big_n * sizeof(int32_t), cudaMemcpyDeviceToHost));
          bad_samples += rebench_dev::first_mismatch(big_got.data(), big_want.data(), big_n) >= 0;
        },
        warmups, reps, flush, flush_bytes, stream);
    if (rc != 0 || bad_samples > 0) {
      std::printf("  FAIL timed calls: rc=%d, %lld wrong outputs\n", rc,
                  static_cast<long long>(bad_samples));
      ok = false;
    }
    std::printf("%-12s %8s %12.3f %10.0f %10.2f\n", s.name.c_str(), ok ? "yes" : "NO", ms,
                gbytes / ms * 1e3, ms / copy_ms);
    std::fflush(stdout);
    all_ok &= ok;
  }
  return all_ok ? 0 : 1;
}
