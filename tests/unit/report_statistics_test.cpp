// Report statistics against hand-computed cases: score@k with ties, bootstrap intervals, one run,
// all-invalid groups, percentile ranks, and determinism given the seed.
#include <gtest/gtest.h>

#include <cmath>

#include "report/statistics.hpp"

namespace rebench::report {
namespace {

TEST(ReportStatistics, ExpectedMaxOfKMatchesHandComputedCases) {
  // {0, 1}, k = 2: the max is 0 only when both draws are 0 (1/4): E = 3/4.
  EXPECT_DOUBLE_EQ(expected_max_of_k({0.0, 1.0}, 2), 0.75);
  // k = 1 is the mean.
  EXPECT_DOUBLE_EQ(expected_max_of_k({0.2, 0.4, 0.9}, 1), 0.5);
  // Ties: {0.2, 0.5, 0.5}, k = 2: P(max = 0.2) = 1/9, else 0.5: E = 0.2/9 + 0.5·8/9.
  EXPECT_NEAR(expected_max_of_k({0.5, 0.2, 0.5}, 2), (0.2 + 4.0) / 9.0, 1e-12);
  // {0, 0, 1}, k = 3: P(no 1 drawn) = (2/3)^3 = 8/27: E = 19/27.
  EXPECT_NEAR(expected_max_of_k({0.0, 1.0, 0.0}, 3), 19.0 / 27.0, 1e-12);
  // One run: every k gives that run.
  EXPECT_DOUBLE_EQ(expected_max_of_k({0.3}, 16), 0.3);
  // Large k tends to the maximum.
  EXPECT_NEAR(expected_max_of_k({0.1, 0.7}, 60), 0.7, 1e-12);
  EXPECT_THROW(expected_max_of_k({}, 1), std::exception);
  EXPECT_THROW(expected_max_of_k({1.0}, 0), std::exception);
}

TEST(ReportStatistics, QuantileInterpolatesLinearly) {
  const std::vector<double> v = {1.0, 2.0, 3.0, 4.0};
  EXPECT_DOUBLE_EQ(quantile_sorted(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(quantile_sorted(v, 1.0), 4.0);
  EXPECT_DOUBLE_EQ(quantile_sorted(v, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(quantile_sorted(v, 0.25), 1.75);  // h = 0.75
  EXPECT_DOUBLE_EQ(quantile_sorted({7.0}, 0.3), 7.0);
}

TEST(ReportStatistics, PercentileRankSplitsTies) {
  const std::vector<double> humans = {0.0, 0.2, 0.5, 0.5, 1.0};
  EXPECT_DOUBLE_EQ(percentile_rank(humans, 0.5), 100.0 * (2 + 1.0) / 5);  // 2 below, 2 equal
  EXPECT_DOUBLE_EQ(percentile_rank(humans, 2.0), 100.0);
  EXPECT_DOUBLE_EQ(percentile_rank(humans, -1.0), 0.0);
  EXPECT_DOUBLE_EQ(percentile_rank(humans, 0.3), 40.0);
}

TEST(ReportStatistics, BootstrapOfTwoValuesHasKnownQuantiles) {
  // Resamples of {0, 1} (size 2) have means 0, 0.5 or 1 with probability 1/4, 1/2, 1/4: the
  // 2.5 % and 97.5 % percentiles are 0 and 1; the point estimate is the sample mean.
  BootstrapOptions options;
  options.resamples = 4000;
  const Estimate e = bootstrap_mean({0.0, 1.0}, options);
  ASSERT_TRUE(e.value && e.low && e.high);
  EXPECT_DOUBLE_EQ(*e.value, 0.5);
  EXPECT_DOUBLE_EQ(*e.low, 0.0);
  EXPECT_DOUBLE_EQ(*e.high, 1.0);
  EXPECT_EQ(e.reason, "");
}

TEST(ReportStatistics, BootstrapIntervalContainsTheMeanAndIsDeterministic) {
  const std::vector<double> values = {0.1, 0.4, 0.4, 0.8, 1.2, 0.0};
  BootstrapOptions options;
  options.resamples = 2000;
  options.seed = 7;
  const Estimate a = bootstrap_mean(values, options);
  const Estimate b = bootstrap_mean(values, options);
  ASSERT_TRUE(a.low && a.high);
  EXPECT_NEAR(*a.value, 2.9 / 6, 1e-12);
  EXPECT_LT(*a.low, *a.value);
  EXPECT_GT(*a.high, *a.value);
  EXPECT_GE(*a.low, 0.0);
  EXPECT_LE(*a.high, 1.2);
  EXPECT_EQ(*a.low, *b.low);
  EXPECT_EQ(*a.high, *b.high);
  options.seed = 8;
  const Estimate c = bootstrap_mean(values, options);
  EXPECT_TRUE(*c.low != *a.low || *c.high != *a.high) << "the seed must matter";
}

TEST(ReportStatistics, RngIsTheSameEverywhere) {
  // splitmix64 reference values for seed 0 (Vigna's published implementation).
  Rng rng(0);
  EXPECT_EQ(rng.next(), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(rng.next(), 0x6E789E6AA1B965F4ULL);
  Rng bounded(42);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(bounded.below(3), 3u);
  EXPECT_NE(derive_seed(1, "a"), derive_seed(1, "b"));
}

TEST(ReportStatistics, ScoreAtKForLastSelectionIsTheMean) {
  BootstrapOptions options;
  options.resamples = 100;
  const Estimate e = bootstrap_score_at_k({0.0, 1.0, 0.5}, 8, /*take_max=*/false, options);
  EXPECT_DOUBLE_EQ(*e.value, 0.5);
  const Estimate m = bootstrap_score_at_k({0.0, 1.0}, 2, /*take_max=*/true, options);
  EXPECT_DOUBLE_EQ(*m.value, 0.75);
}

TEST(ReportStatistics, OneRunHasAValueButNoInterval) {
  const GroupSummary s = summarize_runs({{true, 0.6}}, {});
  EXPECT_EQ(s.runs, 1);
  EXPECT_EQ(s.invalid, 0);
  EXPECT_DOUBLE_EQ(*s.mean.value, 0.6);
  EXPECT_FALSE(s.mean.low.has_value());
  EXPECT_EQ(s.mean.reason, "one run: no interval");
  EXPECT_DOUBLE_EQ(*s.best, 0.6);
}

TEST(ReportStatistics, AllInvalidRunsGiveZeroWithAReason) {
  BootstrapOptions options;
  options.resamples = 200;
  const GroupSummary s = summarize_runs({{false, 0.0}, {false, 0.0}}, options);
  EXPECT_EQ(s.runs, 2);
  EXPECT_EQ(s.invalid, 2);
  EXPECT_DOUBLE_EQ(*s.mean.value, 0.0);
  EXPECT_DOUBLE_EQ(*s.mean.low, 0.0);
  EXPECT_DOUBLE_EQ(*s.mean.high, 0.0);
  EXPECT_EQ(s.mean.reason, "no run has a valid score: each counts as 0");
  // An invalid run counts 0 even if a stale value was recorded for it.
  const GroupSummary mixed = summarize_runs({{false, 0.9}, {true, 0.4}}, options);
  EXPECT_DOUBLE_EQ(*mixed.mean.value, 0.2);
  EXPECT_EQ(mixed.invalid, 1);
  EXPECT_EQ(mixed.mean.reason, "");
}

TEST(ReportStatistics, NoRunsIsUndefinedWithAReason) {
  const GroupSummary s = summarize_runs({}, {});
  EXPECT_FALSE(s.mean.value.has_value());
  EXPECT_EQ(s.mean.reason, "no runs");
  EXPECT_FALSE(s.best.has_value());
}

}  // namespace
}  // namespace rebench::report
