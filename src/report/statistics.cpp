// Statistics of `rebench report` (see statistics.hpp): pure, deterministic given the seed.
#include "report/statistics.hpp"

#include <algorithm>
#include <cmath>

#include "rebench/errors.hpp"

namespace rebench::report {

std::uint64_t Rng::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::size_t Rng::below(std::size_t n) {
  if (n == 0) throw Error("Rng::below(0)");
  const std::uint64_t bound = static_cast<std::uint64_t>(n);
  // Largest multiple of n that fits: draws above it are rejected so every index is equally likely.
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  std::uint64_t draw;
  do draw = next();
  while (draw >= limit);
  return static_cast<std::size_t>(draw % bound);
}

std::uint64_t derive_seed(std::uint64_t base, const std::string& name) {
  std::uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : name) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return base ^ hash;
}

double mean(const std::vector<double>& values) {
  if (values.empty()) throw Error("mean of no values");
  double sum = 0.0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

double quantile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) throw Error("quantile of no values");
  if (!(q >= 0.0 && q <= 1.0)) throw Error("quantile outside [0, 1]");
  const double h = (static_cast<double>(sorted.size()) - 1.0) * q;
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

double expected_max_of_k(const std::vector<double>& values, int k) {
  if (values.empty()) throw Error("score@k of no values");
  if (k < 1) throw Error("score@k needs k >= 1");
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  const double n = static_cast<double>(sorted.size());
  double expected = 0.0, below = 0.0;  // below = ((i-1)/n)^k
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const double upto = std::pow(static_cast<double>(i + 1) / n, k);
    expected += sorted[i] * (upto - below);
    below = upto;
  }
  return expected;
}

double percentile_rank(const std::vector<double>& population, double x) {
  if (population.empty()) throw Error("percentile among no values");
  double below = 0.0, equal = 0.0;
  for (double v : population) {
    if (v < x) below += 1.0;
    if (v == x) equal += 1.0;
  }
  return 100.0 * (below + 0.5 * equal) / static_cast<double>(population.size());
}

namespace {

/// Percentile bootstrap of `statistic` over resamples (with replacement) of `values`.
template <typename Statistic>
Estimate bootstrap(const std::vector<double>& values, const BootstrapOptions& options,
                   Statistic statistic) {
  Estimate estimate;
  if (values.empty()) {
    estimate.reason = "no runs";
    return estimate;
  }
  estimate.value = statistic(values);
  if (values.size() < 2) {
    estimate.reason = "one run: no interval";
    return estimate;
  }
  if (options.resamples < 1) {
    estimate.reason = "no bootstrap resamples requested";
    return estimate;
  }
  Rng rng(options.seed);
  std::vector<double> stats, resample(values.size());
  stats.reserve(static_cast<std::size_t>(options.resamples));
  for (int r = 0; r < options.resamples; ++r) {
    for (double& v : resample) v = values[rng.below(values.size())];
    stats.push_back(statistic(resample));
  }
  std::sort(stats.begin(), stats.end());
  const double alpha = 1.0 - options.confidence;
  estimate.low = quantile_sorted(stats, alpha / 2.0);
  estimate.high = quantile_sorted(stats, 1.0 - alpha / 2.0);
  return estimate;
}

}  // namespace

Estimate bootstrap_mean(const std::vector<double>& values, const BootstrapOptions& options) {
  return bootstrap(values, options, [](const std::vector<double>& v) { return mean(v); });
}

Estimate bootstrap_score_at_k(const std::vector<double>& values, int k, bool take_max,
                              const BootstrapOptions& options) {
  if (k < 1) throw Error("score@k needs k >= 1");
  if (!take_max) return bootstrap_mean(values, options);
  return bootstrap(values, options,
                   [k](const std::vector<double>& v) { return expected_max_of_k(v, k); });
}

GroupSummary summarize_runs(const std::vector<RunValue>& runs, const BootstrapOptions& options) {
  GroupSummary summary;
  summary.runs = static_cast<int>(runs.size());
  std::vector<double> values;
  for (const RunValue& run : runs) {
    summary.invalid += run.valid ? 0 : 1;
    values.push_back(run.valid ? run.normalized_clipped : 0.0);
  }
  summary.mean = bootstrap_mean(values, options);
  if (values.empty()) return summary;
  std::vector<double> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  summary.best = sorted.back();
  summary.median = quantile_sorted(sorted, 0.5);
  if (summary.invalid == summary.runs) {
    const std::string why = "no run has a valid score: each counts as 0";
    summary.mean.reason = summary.mean.reason.empty() ? why : why + "; " + summary.mean.reason;
  }
  return summary;
}

}  // namespace rebench::report
