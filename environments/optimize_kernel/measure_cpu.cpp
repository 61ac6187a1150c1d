// CPU-profile measurement: edge cases, warm-ups, timed calls on fresh inputs, each checked
// immediately after it returns (work deferred to a background thread shows up as a mismatch).
#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "optimize_kernel/kernel_task.hpp"
#include "optimize_kernel/measure.hpp"

namespace rebench::optimize_kernel {

namespace {

double now_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "cpu";
}

/// An output buffer with guard zones on both sides, to catch writes outside [y, y + n).
class GuardedOutput {
 public:
  explicit GuardedOutput(int64_t n) : n_(n), storage_(static_cast<std::size_t>(n + 2 * kGuard)) {}
  int32_t* data() { return storage_.data() + kGuard; }
  void reset() {
    std::fill(storage_.begin(), storage_.begin() + kGuard, kSentinel);
    std::fill(storage_.end() - kGuard, storage_.end(), kSentinel);
    std::memset(data(), 0xA5, static_cast<std::size_t>(n_) * sizeof(int32_t));  // no stale answers
  }
  bool guards_intact() const {
    for (int64_t i = 0; i < kGuard; ++i)
      if (storage_[i] != kSentinel || storage_[storage_.size() - 1 - i] != kSentinel) return false;
    return true;
  }

 private:
  static constexpr int64_t kGuard = 4096;
  static constexpr int32_t kSentinel = 0x5EC0DE42;
  int64_t n_;
  std::vector<int32_t> storage_;
};

/// Runs one call and checks it; returns "" when correct, else the reason.
std::string call_and_check(PrefixSumFn fn, const int32_t* x, GuardedOutput& out, int32_t* expected,
                           int64_t n, const char* what, double* elapsed_ms = nullptr) {
  out.reset();
  int32_t* y = out.data();
  double t0 = now_ms();
  int rc = fn(x, y, n, nullptr);
  double t1 = now_ms();
  if (elapsed_ms != nullptr) *elapsed_ms = t1 - t0;
  if (rc != 0) return fmt::format("{}: the solution returned error code {}", what, rc);
  if (!out.guards_intact())
    return fmt::format("{}: the solution wrote outside the output buffer", what);
  reference_prefix_sum(x, expected, n);
  if (auto index = first_mismatch(expected, y, n))
    return fmt::format("{}: wrong output at index {} of {}: expected {}, got {}", what, *index, n,
                       expected[*index], y[*index]);
  return "";
}

}  // namespace

Measurement measure_on_cpu(PrefixSumFn fn, const MeasureSettings& settings) {
  Measurement m;
  m.device_name = cpu_name();
  m.device_detail = fmt::format("{} hardware threads", std::thread::hardware_concurrency());

  for (const EdgeCase& edge : edge_cases(settings.seed)) {
    int64_t n = static_cast<int64_t>(edge.input.size());
    GuardedOutput y(n);
    std::vector<int32_t> expected(edge.input.size());
    std::string error = call_and_check(fn, edge.input.data(), y, expected.data(), n,
                                       (std::string("edge case ") + edge.name).c_str());
    if (!error.empty()) {
      m.message = error;
      return m;
    }
  }

  const int64_t n = settings.n;
  std::vector<int32_t> x(static_cast<std::size_t>(n)), expected(x.size());
  GuardedOutput y(n);
  for (int w = 0; w < settings.warmups; ++w) {
    generate_input(sample_seed(settings.seed, -1 - w), x.data(), n);
    std::string error = call_and_check(fn, x.data(), y, expected.data(), n, "warm-up");
    if (!error.empty()) {
      m.message = error;
      return m;
    }
  }
  for (int k = 0; k < settings.samples; ++k) {
    generate_input(sample_seed(settings.seed, k), x.data(), n);
    double ms = 0;
    std::string error = call_and_check(fn, x.data(), y, expected.data(), n,
                                       fmt::format("timed call {}", k).c_str(), &ms);
    if (!error.empty()) {
      m.message = error;
      return m;
    }
    if (k == 0) m.checksum0 = checksum(y.data(), n);
    m.samples_ms.push_back(ms);
    m.host_ms.push_back(ms);
  }
  m.correct = true;
  return m;
}

#ifndef REBENCH_OPTIMIZE_KERNEL_CUDA
Measurement measure_on_cuda(PrefixSumFn, const MeasureSettings&) {
  Measurement m;
  m.message = "this rebench was built without CUDA; use the cpu profile";
  return m;
}
#endif

}  // namespace rebench::optimize_kernel
