// Test inputs and the exact CPU oracle shared by check_cpu.cpp and check_solutions.cu, so that
// both profiles are checked against the same edge cases.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace rebench_dev {

using PrefixSumFn = int (*)(const int32_t* x, int32_t* y, int64_t n, void* stream);

// Plain definition of the task; uint32 arithmetic gives the required two's complement wrap.
inline void reference_prefix_sum(const int32_t* x, int32_t* y, int64_t n) {
  uint32_t parity = 0;  // positives strictly before x[i], mod 2
  uint32_t sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (parity) sum += static_cast<uint32_t>(x[i]);
    y[i] = static_cast<int32_t>(sum);
    parity ^= static_cast<uint32_t>(x[i] > 0);
  }
}

struct TestCase {
  std::string name;
  std::vector<int32_t> x;
};

// Values in [lo, hi), reproducible across runs and machines.
inline std::vector<int32_t> random_values(int64_t n, uint64_t seed, int32_t lo = -10,
                                          int32_t hi = 10) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int32_t> dist(lo, hi - 1);
  std::vector<int32_t> x(static_cast<size_t>(n));
  for (auto& v : x) v = dist(rng);
  return x;
}

// Edge cases: tiny n, n that is not a multiple of any block size, sign patterns that stress the
// parity logic, and full-range values that make the int32 sum wrap around.
inline std::vector<TestCase> edge_cases() {
  std::vector<TestCase> cases;
  cases.push_back({"n=1 positive", {7}});
  cases.push_back({"n=1 negative", {-3}});
  cases.push_back({"n=2", {5, 9}});
  cases.push_back({"n=31", random_values(31, 1)});
  for (int64_t n : {3, 4, 5, 127, 1000, 4095, 4097, 65537, 1000003})
    cases.push_back({"n=" + std::to_string(n), random_values(n, 100 + n)});
  const int64_t m = 1000003;
  cases.push_back({"all negative", std::vector<int32_t>(m, -4)});
  cases.push_back({"all positive", std::vector<int32_t>(m, 3)});
  std::vector<int32_t> alternating(m);
  for (int64_t i = 0; i < m; ++i) alternating[i] = (i % 2) ? -7 : 5;
  cases.push_back({"alternating", alternating});
  std::vector<int32_t> zeros_and_ones(m);
  for (int64_t i = 0; i < m; ++i) zeros_and_ones[i] = (i % 3 == 0) ? 1 : 0;
  cases.push_back({"zeros and ones", zeros_and_ones});
  cases.push_back({"wraparound", random_values(m, 7, INT32_MIN, INT32_MAX)});
  return cases;
}

// Index of the first mismatch, or -1.
inline int64_t first_mismatch(const int32_t* got, const int32_t* want, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (got[i] != want[i]) return i;
  return -1;
}

}  // namespace rebench_dev
