// Pure pieces of training that need no tensors: the learning-rate schedule and the deterministic
// choice of token windows (training batches and the fixed evaluation set).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace rebench::lm {

/// nanoGPT's schedule: linear warm-up to `max_lr` over `warmup_steps`, cosine decay to `min_lr`
/// at `decay_steps`, `min_lr` after that. Steps count from 0.
struct LrSchedule {
  double max_lr = 6e-4;
  double min_lr = 6e-5;
  std::int64_t warmup_steps = 0;
  std::int64_t decay_steps = 1;
  [[nodiscard]] double at(std::int64_t step) const;
};

/// splitmix64: a tiny PRNG whose output is the same with every compiler and standard library
/// (std:: distributions are not), so data order depends only on the seed.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  /// Uniform integer in [0, bound) without modulo bias; bound > 0.
  std::uint64_t below(std::uint64_t bound);

 private:
  std::uint64_t state_;
};

/// Start offsets of `count` training windows of `window` tokens (input + shifted target need
/// window + 1 tokens) for micro-batch `micro` of optimizer step `step`. A pure function of
/// (seed, step, micro): a resumed or re-run training sees the same data in the same order.
std::vector<std::uint64_t> training_window_offsets(std::size_t stream_tokens, std::int64_t window,
                                                   std::int64_t count, std::uint64_t seed,
                                                   std::int64_t step, std::int64_t micro);

/// Start offsets of `count` evaluation windows spread evenly over the stream (no randomness):
/// the same fixed set every time, so evaluation is deterministic and comparable across runs.
/// Fewer windows come back when the stream is too short for `count` disjoint ones.
std::vector<std::uint64_t> evaluation_window_offsets(std::size_t stream_tokens, std::int64_t window,
                                                     std::int64_t count);

}  // namespace rebench::lm
