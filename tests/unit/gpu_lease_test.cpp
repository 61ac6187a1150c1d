// GPU leases: exclusive per device across holders, released with the holder, explicit lists
// validated (device lists are simulated; no GPU needed).
#include <gtest/gtest.h>

#include "rebench/errors.hpp"
#include "rebench/gpu_lease.hpp"
#include "support/temp_dir.hpp"

namespace rebench {
namespace {

TEST(GpuLease, AutoPicksFreeDevicesAndNeverSharesOne) {
  testing::TempDir locks;
  const std::vector<int> available = {0, 1};
  GpuLease first = GpuLease::acquire("auto", 1, available, locks.path());
  GpuLease second = GpuLease::acquire("auto", 1, available, locks.path());
  ASSERT_EQ(first.gpus().size(), 1u);
  ASSERT_EQ(second.gpus().size(), 1u);
  EXPECT_NE(first.gpus()[0], second.gpus()[0]);
  EXPECT_THROW(GpuLease::acquire("auto", 1, available, locks.path()), Error);
  EXPECT_THROW(GpuLease::acquire(std::to_string(first.gpus()[0]), 1, available, locks.path()),
               Error);
  int freed = first.gpus()[0];
  first = GpuLease();  // released: the device is free again
  GpuLease third = GpuLease::acquire("auto", 1, available, locks.path());
  EXPECT_EQ(third.gpus()[0], freed);
}

TEST(GpuLease, ExplicitListsAreValidated) {
  testing::TempDir locks;
  EXPECT_THROW(GpuLease::acquire("7", 1, {0, 1}, locks.path()), UsageError);
  EXPECT_THROW(GpuLease::acquire("zero", 1, {0, 1}, locks.path()), UsageError);
  EXPECT_THROW(GpuLease::acquire("0", 2, {0, 1}, locks.path()), UsageError);
  GpuLease both = GpuLease::acquire("0,1", 2, {0, 1}, locks.path());
  EXPECT_EQ(both.gpus(), (std::vector<int>{0, 1}));
  EXPECT_TRUE(GpuLease::acquire("auto", 0, {0, 1}, locks.path()).gpus().empty());
}

}  // namespace
}  // namespace rebench
