// Standalone checker for the CPU solutions of optimize_kernel: dlopens each solution .so, checks
// it exactly against the oracle in cases.h, and times n = 1e7 (median of 10).
// Usage: check_cpu [--n N] [--reps R] NAME=path/to/solution.so ...
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cases.h"

using rebench_dev::PrefixSumFn;

namespace {

struct Solution {
  std::string name;
  PrefixSumFn fn = nullptr;
};

// Runs one case; returns true when the output matches the oracle bit for bit.
bool check_case(const Solution& s, const std::vector<int32_t>& x, const std::string& label) {
  const int64_t n = static_cast<int64_t>(x.size());
  std::vector<int32_t> want(n), got(n, 0x5a5a5a5a);
  rebench_dev::reference_prefix_sum(x.data(), want.data(), n);
  const int rc = s.fn(x.data(), got.data(), n, nullptr);
  const int64_t bad = rc == 0 ? rebench_dev::first_mismatch(got.data(), want.data(), n) : -1;
  if (rc != 0 || bad >= 0) {
    std::printf("  FAIL %-16s n=%lld rc=%d", label.c_str(), static_cast<long long>(n), rc);
    if (bad >= 0)
      std::printf(" first mismatch at %lld: got %d want %d", static_cast<long long>(bad), got[bad],
                  want[bad]);
    std::printf("\n");
    return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t big_n = 10'000'000;
  int reps = 10;
  std::vector<Solution> solutions;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--n") && i + 1 < argc) {
      big_n = std::atoll(argv[++i]);
    } else if (!std::strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = std::atoi(argv[++i]);
    } else {
      std::string arg = argv[i];
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
  if (solutions.empty()) {
    std::fprintf(stderr, "usage: %s [--n N] [--reps R] NAME=solution.so ...\n", argv[0]);
    return 2;
  }

  const auto cases = rebench_dev::edge_cases();
  const auto big_x = rebench_dev::random_values(big_n, 42);
  std::vector<int32_t> big_y(big_n);
  bool all_ok = true;
  std::printf("%-12s %8s %12s\n", "solution", "correct", "median_ms");
  for (const auto& s : solutions) {
    bool ok = true;
    for (const auto& c : cases) ok &= check_case(s, c.x, c.name);
    ok &= check_case(s, big_x, "big random");
    // Timing: one warm-up, then the median of `reps` calls on the big input.
    s.fn(big_x.data(), big_y.data(), big_n, nullptr);
    std::vector<double> ms;
    for (int r = 0; r < reps; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      s.fn(big_x.data(), big_y.data(), big_n, nullptr);
      const auto t1 = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = reps % 2 ? ms[reps / 2] : 0.5 * (ms[reps / 2 - 1] + ms[reps / 2]);
    std::printf("%-12s %8s %12.3f\n", s.name.c_str(), ok ? "yes" : "NO", median);
    all_ok &= ok;
  }
  return all_ok ? 0 : 1;
}
