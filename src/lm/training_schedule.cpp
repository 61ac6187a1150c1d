// Learning-rate schedule, splitmix64 and window choice (see training_schedule.hpp).
#include "lm/training_schedule.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "rebench/errors.hpp"

namespace rebench::lm {

double LrSchedule::at(std::int64_t step) const {
  if (step < warmup_steps) {
    return max_lr * static_cast<double>(step + 1) / static_cast<double>(warmup_steps + 1);
  }
  if (step >= decay_steps) return min_lr;
  const double span = static_cast<double>(std::max<std::int64_t>(1, decay_steps - warmup_steps));
  const double progress = static_cast<double>(step - warmup_steps) / span;
  const double coefficient = 0.5 * (1.0 + std::cos(M_PI * progress));
  return min_lr + coefficient * (max_lr - min_lr);
}

std::uint64_t SplitMix64::next() {
  std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::uint64_t SplitMix64::below(std::uint64_t bound) {
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  std::uint64_t value;
  do {
    value = next();
  } while (value >= limit);
  return value % bound;
}

std::vector<std::uint64_t> training_window_offsets(std::size_t stream_tokens, std::int64_t window,
                                                   std::int64_t count, std::uint64_t seed,
                                                   std::int64_t step, std::int64_t micro) {
  if (window <= 0 || static_cast<std::size_t>(window) + 1 > stream_tokens) {
    throw Error("training data has " + std::to_string(stream_tokens) +
                    " tokens: too few for windows of " + std::to_string(window) + " + 1 tokens",
                ExitCode::kUsage);
  }
  SplitMix64 mixer(seed);
  // Derive an independent stream per (step, micro) by hashing them into the seed.
  SplitMix64 rng(mixer.next() ^ (static_cast<std::uint64_t>(step) * 0xD1B54A32D192ED03ULL) ^
                 (static_cast<std::uint64_t>(micro) * 0x8CB92BA72F3D8DD7ULL));
  rng.next();
  const std::uint64_t positions = stream_tokens - static_cast<std::uint64_t>(window);
  std::vector<std::uint64_t> offsets(static_cast<std::size_t>(count));
  for (auto& offset : offsets) offset = rng.below(positions);
  return offsets;
}

std::vector<std::uint64_t> evaluation_window_offsets(std::size_t stream_tokens, std::int64_t window,
                                                     std::int64_t count) {
  if (window <= 0 || count <= 0) return {};
  const std::uint64_t span = static_cast<std::uint64_t>(window) + 1;
  if (stream_tokens < span) return {};
  const std::uint64_t fitting = stream_tokens / span;
  const std::uint64_t n = std::min<std::uint64_t>(fitting, static_cast<std::uint64_t>(count));
  std::vector<std::uint64_t> offsets;
  offsets.reserve(n);
  // Evenly spaced, disjoint windows: stride ≥ span because n ≤ stream / span.
  const std::uint64_t stride = (stream_tokens - span) / std::max<std::uint64_t>(1, n - 1);
  for (std::uint64_t i = 0; i < n; ++i) offsets.push_back(n == 1 ? 0 : i * stride);
  return offsets;
}

}  // namespace rebench::lm
