// optimize_kernel's task code: the reference on hand-computed cases, checksum agreement.
#include <gtest/gtest.h>

#include "optimize_kernel/kernel_task.hpp"

namespace rebench::optimize_kernel {
namespace {

TEST(KernelTask, ReferenceOnHandComputedCase) {
  // x:        3  -1   4   2  -5   1
  // positives before j: 0 1 1 2 3 3  -> odd at j = 1, 2, 4, 5
  // y: 0, -1, 3, 3, -2, -1
  std::vector<int32_t> x = {3, -1, 4, 2, -5, 1}, y(6);
  reference_prefix_sum(x.data(), y.data(), 6);
  EXPECT_EQ(y, (std::vector<int32_t>{0, -1, 3, 3, -2, -1}));
}

TEST(KernelTask, InputsAreInRangeAndSeedDependent) {
  std::vector<int32_t> a(10000), b(10000);
  generate_input(1, a.data(), 10000);
  generate_input(2, b.data(), 10000);
  EXPECT_NE(a, b);
  int counts[20] = {0};
  for (int32_t v : a) {
    ASSERT_GE(v, -10);
    ASSERT_LT(v, 10);
    ++counts[v + 10];
  }
  for (int c : counts) EXPECT_GT(c, 300);  // every value appears (≈500 expected)
}

TEST(KernelTask, StreamingChecksumEqualsChecksumOfReferenceOutput) {
  const int64_t n = 100003;
  std::vector<int32_t> x(n), y(n);
  generate_input(42, x.data(), n);
  reference_prefix_sum(x.data(), y.data(), n);
  EXPECT_EQ(expected_checksum(42, n), checksum(y.data(), n));
  y[n / 2] += 1;
  EXPECT_NE(expected_checksum(42, n), checksum(y.data(), n));
}

TEST(KernelTask, EdgeCasesCoverTheListedShapes) {
  auto cases = edge_cases(7);
  bool has_one = false, all_neg = false, all_pos = false;
  for (const auto& c : cases) {
    if (c.input.size() == 1) has_one = true;
    bool neg = true, pos = true;
    for (int32_t v : c.input) {
      neg &= v < 0;
      pos &= v > 0;
    }
    all_neg |= neg && c.input.size() > 1;
    all_pos |= pos && c.input.size() > 1;
  }
  EXPECT_TRUE(has_one);
  EXPECT_TRUE(all_neg);
  EXPECT_TRUE(all_pos);
}

}  // namespace
}  // namespace rebench::optimize_kernel
