// Input generation, the exact reference and checksums of the prefix-sum task.
#include "optimize_kernel/kernel_task.hpp"

namespace rebench::optimize_kernel {

void generate_input(uint64_t seed, int32_t* x, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = input_value(seed, static_cast<uint64_t>(i));
}

void reference_prefix_sum(const int32_t* x, int32_t* y, int64_t n) {
  uint32_t sum = 0;  // unsigned: wrapping is defined, and equals int32 two's-complement wrapping
  bool odd = false;  // parity of positives strictly before the current element
  for (int64_t i = 0; i < n; ++i) {
    if (odd) sum += static_cast<uint32_t>(x[i]);
    y[i] = static_cast<int32_t>(sum);
    if (x[i] > 0) odd = !odd;
  }
}

namespace {
constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;
inline uint64_t mix(uint64_t hash, int32_t value) {
  return (hash ^ static_cast<uint32_t>(value)) * kFnvPrime;
}
}  // namespace

uint64_t checksum(const int32_t* y, int64_t n) {
  uint64_t hash = kFnvOffset;
  for (int64_t i = 0; i < n; ++i) hash = mix(hash, y[i]);
  return hash;
}

uint64_t expected_checksum(uint64_t seed, int64_t n) {
  uint64_t hash = kFnvOffset;
  uint32_t sum = 0;
  bool odd = false;
  for (int64_t i = 0; i < n; ++i) {
    int32_t x = input_value(seed, static_cast<uint64_t>(i));
    if (odd) sum += static_cast<uint32_t>(x);
    hash = mix(hash, static_cast<int32_t>(sum));
    if (x > 0) odd = !odd;
  }
  return hash;
}

std::optional<int64_t> first_mismatch(const int32_t* expected, const int32_t* actual, int64_t n) {
  for (int64_t i = 0; i < n; ++i)
    if (expected[i] != actual[i]) return i;
  return std::nullopt;
}

std::vector<EdgeCase> edge_cases(uint64_t seed) {
  auto random = [seed](int64_t n, uint64_t salt) {
    std::vector<int32_t> v(static_cast<std::size_t>(n));
    generate_input(seed ^ salt, v.data(), n);
    return v;
  };
  auto filled = [](int64_t n, auto value_of) {
    std::vector<int32_t> v(static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = value_of(i);
    return v;
  };
  std::vector<EdgeCase> cases;
  cases.push_back({"n=1 positive", {7}});
  cases.push_back({"n=1 negative", {-3}});
  cases.push_back({"n=2", {5, 9}});
  cases.push_back({"n=31 random", random(31, 1)});
  cases.push_back({"n=1000 random", random(1000, 2)});
  cases.push_back({"n=65537 random", random(65537, 3)});
  cases.push_back({"n=1000003 random", random(1000003, 4)});
  cases.push_back(
      {"all negative n=4099", filled(4099, [](int64_t i) { return -1 - int32_t(i % 10); })});
  cases.push_back(
      {"all positive n=4099", filled(4099, [](int64_t i) { return 1 + int32_t(i % 9); })});
  cases.push_back({"alternating signs n=100001",
                   filled(100001, [](int64_t i) { return i % 2 == 0 ? 3 : -4; })});
  cases.push_back(
      {"zeros and positives n=77777", filled(77777, [](int64_t i) { return i % 3 == 0 ? 0 : 9; })});
  return cases;
}

}  // namespace rebench::optimize_kernel
