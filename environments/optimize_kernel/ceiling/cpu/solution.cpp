// Ceiling solution (CPU profile) for optimize_kernel: one fused pass carrying (parity of the
// positives seen, running sum), vectorised with AVX2 32 elements at a time. It calibrates the
// task's headroom over the reference; agents never see it.
#include <immintrin.h>

#include <cstdint>

namespace {

// Scalar fused pass over x[0, n), starting from the state carried in from before x[0]:
// `parity` = positives before it mod 2, `sum` = the output value of the element before it.
// Branch-free: the element is added through a mask, so random signs cost no mispredictions.
void scan_scalar(const int32_t* x, int32_t* y, int64_t n, uint32_t parity, uint32_t sum) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t v = x[i];
    sum += static_cast<uint32_t>(v) & (0u - parity);
    y[i] = static_cast<int32_t>(sum);
    parity ^= static_cast<uint32_t>(v > 0);
  }
}

// The scalar loop is latency bound (about 2.5 cycles per element: the parity and the sum are
// both loop-carried). Here the sign bits of 32 elements become one 32-bit mask whose prefix XOR
// (five shift-xors) gives every element's parity at once; what remains per element is vector
// masking and an 8-wide in-register prefix sum, and the only loop-carried vector dependency
// is one add per 8 elements. Measured 17x faster than the reference at n = 1e7, within 1.6x of
// memcpy. (A 2-thread split measured slower on a 2-vCPU machine: the pass is memory bound.)
__attribute__((target("avx2"))) void scan_avx2(const int32_t* x, int32_t* y, int64_t n) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i lane_bit = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
  const __m256i last_lane = _mm256_set1_epi32(7);
  __m256i carry = zero;  // running sum, broadcast to all lanes
  uint32_t parity = 0;
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i v[4];
    uint32_t positive = 0;
    for (int k = 0; k < 4; ++k) {
      v[k] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(x + i + 8 * k));
      const __m256i gt = _mm256_cmpgt_epi32(v[k], zero);
      positive |= static_cast<uint32_t>(_mm256_movemask_ps(_mm256_castsi256_ps(gt))) << (8 * k);
    }
    // Inclusive prefix XOR: bit b = parity of the positives among elements 0..b of the group.
    uint32_t incl = positive;
    incl ^= incl << 1;
    incl ^= incl << 2;
    incl ^= incl << 4;
    incl ^= incl << 8;
    incl ^= incl << 16;
    // Exclusive version, flipped by the incoming parity: bit b set <=> element b is summed.
    const uint32_t take = (incl << 1) ^ (0u - parity);
    parity ^= incl >> 31;
    for (int k = 0; k < 4; ++k) {
      const __m256i bits = _mm256_set1_epi32(static_cast<int32_t>(take >> (8 * k)));
      const __m256i selected = _mm256_cmpeq_epi32(_mm256_and_si256(bits, lane_bit), lane_bit);
      __m256i t = _mm256_and_si256(v[k], selected);
      // 8-wide inclusive prefix sum: scan each 128-bit half, then add the low half's total to
      // the high half.
      t = _mm256_add_epi32(t, _mm256_slli_si256(t, 4));
      t = _mm256_add_epi32(t, _mm256_slli_si256(t, 8));
      t = _mm256_add_epi32(t, _mm256_shuffle_epi32(_mm256_permute2x128_si256(t, t, 0x08), 0xFF));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i + 8 * k), _mm256_add_epi32(t, carry));
      carry = _mm256_add_epi32(carry, _mm256_permutevar8x32_epi32(t, last_lane));
    }
  }
  // The last n % 32 elements.
  scan_scalar(x + i, y + i, n - i, parity, static_cast<uint32_t>(_mm256_cvtsi256_si32(carry)));
}

}  // namespace

extern "C" int rebench_prefix_sum(const int32_t* x, int32_t* y, int64_t n, void* /*stream*/) {
  if (n < 1) return 1;
  // Built with plain -O2 (no -march), so AVX2 is chosen at run time.
  static const bool has_avx2 = __builtin_cpu_supports("avx2");
  if (has_avx2)
    scan_avx2(x, y, n);
  else
    scan_scalar(x, y, n, 0, 0);
  return 0;
}
