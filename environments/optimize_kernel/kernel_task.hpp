// The prefix-sum task itself, shared by harness and scoring worker: deterministic input from a
// seed (counter-based, so CPU and GPU generate identical data), the exact reference, checksums.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace rebench::optimize_kernel {

/// Input value i for `seed`: uniform-ish int32 in [-10, 10), as the original's randint(-10, 10).
/// splitmix64 of (seed, i): stateless, so any element can be generated anywhere in parallel.
inline int32_t input_value(uint64_t seed, uint64_t i) {
  uint64_t z = seed + 0x9E3779B97F4A7C15ull * (i + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<int32_t>(z % 20) - 10;
}

void generate_input(uint64_t seed, int32_t* x, int64_t n);

/// The harness's own implementation: y_i = Σ_{j≤i} x_j·[#{k<j : x_k>0} is odd], int32 wrapping.
void reference_prefix_sum(const int32_t* x, int32_t* y, int64_t n);

/// Order-sensitive 64-bit checksum of an output (FNV-1a over the int32 words).
uint64_t checksum(const int32_t* y, int64_t n);

/// Checksum of the correct output for the input generated from `seed` (streams, O(1) memory).
uint64_t expected_checksum(uint64_t seed, int64_t n);

/// Index of the first element where `actual` differs from `expected`, if any.
std::optional<int64_t> first_mismatch(const int32_t* expected, const int32_t* actual, int64_t n);

/// A named edge-case input (n = 1, ragged lengths, all negative, all positive, alternating).
struct EdgeCase {
  const char* name;
  std::vector<int32_t> input;
};
std::vector<EdgeCase> edge_cases(uint64_t seed);

}  // namespace rebench::optimize_kernel
