// Reference solution (CPU profile) for optimize_kernel: a straightforward port of the PyTorch
// algorithm to plain loops, one pass per tensor op, with materialised temporaries.
// It beats the libtorch starting point but leaves the obvious fusion on the table.
#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

extern "C" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void* /*stream*/) {
  if (n < 1) return 1;
  try {
    // Pass 1: parity of the number of positives strictly before each element.
    std::vector<uint8_t> odd_before(static_cast<std::size_t>(n));
    uint8_t parity = 0;
    for (int64_t i = 0; i < n; ++i) {
      odd_before[i] = parity;
      parity ^= static_cast<uint8_t>(x[i] > 0);
    }
    // Pass 2: the values that take part in the sum.
    std::vector<int32_t> masked(static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i) masked[i] = odd_before[i] ? x[i] : 0;
    // Pass 3: inclusive prefix sum; uint32 arithmetic gives the required int32 wraparound
    // without signed-overflow undefined behaviour.
    uint32_t sum = 0;
    for (int64_t i = 0; i < n; ++i) {
      sum += static_cast<uint32_t>(masked[i]);
      y[i] = static_cast<int32_t>(sum);
    }
    return 0;
  } catch (const std::bad_alloc&) {
    return 1;
  }
}
