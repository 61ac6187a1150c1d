// Statistics of `rebench report`: means, percentile-bootstrap intervals, score@k (best of k runs
// drawn with replacement) and percentile ranks. Pure functions over plain vectors; randomness only
// through a seeded generator whose sequence is the same on every platform.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace rebench::report {

/// splitmix64 with unbiased bounded draws: std::uniform_int_distribution is implementation-defined,
/// so it would make reports (and golden files) differ between standard libraries.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  /// Uniform in [0, n); n > 0. Rejection sampling, so no modulo bias.
  std::size_t below(std::size_t n);

 private:
  std::uint64_t state_;
};

/// A seed for one named statistic: the base seed mixed with the name (FNV-1a), so adding a group
/// to a report does not change the intervals of the others.
std::uint64_t derive_seed(std::uint64_t base, const std::string& name);

/// A value with a 95 % (or other) interval; anything undefined is nullopt and `reason` says why.
struct Estimate {
  std::optional<double> value;
  std::optional<double> low;
  std::optional<double> high;
  std::string reason;  ///< "" when value and interval both exist
};

struct BootstrapOptions {
  int resamples = 10000;
  std::uint64_t seed = 20241122;
  double confidence = 0.95;
};

/// Arithmetic mean; values must not be empty.
double mean(const std::vector<double>& values);

/// Quantile q ∈ [0, 1] of sorted (ascending, non-empty) values, linear interpolation between order
/// statistics (Hyndman–Fan type 7, the default of R and numpy).
double quantile_sorted(const std::vector<double>& sorted, double q);

/// Exact expected maximum of k values drawn with replacement from `values` (non-empty, k ≥ 1):
/// with v(1) ≤ … ≤ v(n), E = Σ v(i)·((i/n)^k − ((i−1)/n)^k). Ties need no special case.
double expected_max_of_k(const std::vector<double>& values, int k);

/// Percentile rank of x in a population: 100·(#below + ½·#equal)/n (mid-rank, so ties split).
double percentile_rank(const std::vector<double>& population, double x);

/// Mean of per-run values with a percentile-bootstrap interval over runs. Empty: no value; one
/// run: the value, no interval.
Estimate bootstrap_mean(const std::vector<double>& values, const BootstrapOptions& options);

/// score@k with a percentile-bootstrap interval over runs: the expected best of k runs drawn with
/// replacement when `take_max`, else the expected value of one random run (k does not matter;
/// the paper's rule for environments scored on their last submission).
Estimate bootstrap_score_at_k(const std::vector<double>& values, int k, bool take_max,
                              const BootstrapOptions& options);

/// One run's contribution to a group: its normalised score, clipped at 0 as in the paper; a run
/// without a valid score counts 0 (the harness's rule), and is counted as invalid.
struct RunValue {
  bool valid = false;
  double normalized_clipped = 0.0;
};

struct GroupSummary {
  int runs = 0;
  int invalid = 0;
  Estimate mean;
  std::optional<double> best;
  std::optional<double> median;
};

/// Summary of one group's runs; every case is defined: no runs (no value, reason), all invalid
/// (0, with the reason), one run (no interval, reason).
GroupSummary summarize_runs(const std::vector<RunValue>& runs, const BootstrapOptions& options);

}  // namespace rebench::report
