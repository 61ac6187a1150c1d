// A synthetic token source with an exactly computable best-achievable loss: a "topic HMM".
//
// A hidden topic z (one of S) switches rarely; each topic has its own sparse order-1 chain over
// a Zipfian vocabulary. Per token: with probability switch_prob the topic is redrawn from
// Zipf-weighted topic weights w (it may stay the same), then the next token is drawn from the
// topic's chain: with probability 1 - restart_prob one of `branching` successors of the previous
// token (Zipf-weighted by rank), else a draw from the topic's own Zipfian unigram distribution
// (which keeps every state reachable, so the stationary distribution is unique).
//
// Best loss: a model seeing a window x_0..x_n of a stationary stream can do no better than the
// Bayes predictor p(x_t | x_0..x_{t-1}), which the forward algorithm computes exactly in
// O(n * S * branching), starting from the stationary joint distribution of (topic, token). The
// loss floor of a window is the mean of -ln p over positions 1..n (nanoGPT's convention: a window
// of block_size + 1 tokens gives block_size predictions, each with at least one token of context).
//
// Determinism: the structure and every sampled token come from integer arithmetic (SplitMix64,
// integer weights, exact Bernoulli thresholds), so the same params and seed give the same bytes
// on every machine. Zipf exponents are restricted to multiples of 0.25 so that the weights need
// only sqrt and products (correctly rounded in IEEE arithmetic), never libm's pow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include <nlohmann/json.hpp>

namespace rebench::lm {

struct TopicHmmParams {
  std::uint32_t vocab_size = 512;   ///< 2..65536 tokens (uint16 ids)
  std::uint32_t topics = 16;        ///< 1..1024 hidden topics
  std::uint32_t branching = 8;      ///< successors per (topic, token); <= vocab_size / 2
  double topic_exponent = 1.0;      ///< Zipf exponent of the topic weights (multiple of 0.25)
  double token_exponent = 1.0;      ///< Zipf exponent of each topic's unigram distribution
  double successor_exponent = 1.0;  ///< Zipf exponent over a row's successor ranks
  double switch_prob = 0.02;        ///< per token: redraw the topic (in (0, 1])
  double restart_prob = 0.05;       ///< per token: draw from the topic's unigram (in (0, 1])
  std::uint64_t seed = 1;           ///< the structure (which successors, which permutation)

  /// Throws rebench::Error naming the field when a value is out of range.
  void validate() const;
  [[nodiscard]] nlohmann::json to_json() const;
};

/// Monte-Carlo estimate of the expected floor over windows of a stationary stream.
struct FloorEstimate {
  int block_size = 0;
  std::size_t windows = 0;
  double mean = 0;  ///< mean over windows of the per-window floor (positions 1..block_size)
  double standard_error = 0;  ///< of `mean`, from the spread of per-window floors
  /// Mean -ln p at each position t = 1..block_size (entry t-1): H(X_t | X_0..X_{t-1}) estimates.
  std::vector<double> per_position;
};

class TopicHmm {
 public:
  /// Builds the structure from params.seed and computes the stationary distribution.
  explicit TopicHmm(const TopicHmmParams& params);

  [[nodiscard]] const TopicHmmParams& params() const { return params_; }
  [[nodiscard]] std::uint32_t vocab_size() const { return params_.vocab_size; }
  [[nodiscard]] std::uint32_t topics() const { return params_.topics; }

  // ---- exact probabilities (the effective values after integer quantization) ----
  /// P(next topic = to | topic = from).
  [[nodiscard]] double topic_transition(std::uint32_t from, std::uint32_t to) const;
  /// Stationary topic weight w(z).
  [[nodiscard]] double topic_weight(std::uint32_t topic) const { return topic_prob_[topic]; }
  /// P(token = next | topic, previous token = prev).
  [[nodiscard]] double emission(std::uint32_t topic, std::uint32_t prev, std::uint32_t next) const;
  /// Stationary joint probability of (topic, token).
  [[nodiscard]] double stationary(std::uint32_t topic, std::uint32_t token) const {
    return stationary_[std::size_t{topic} * params_.vocab_size + token];
  }

  // ---- the Bayes-optimal loss ----
  /// -ln p(x_i | x_0..x_{i-1}) for i = 0..count-1 (entry 0: no context, the stationary marginal),
  /// the window starting from the stationary distribution. Token ids >= vocab_size are an error.
  [[nodiscard]] std::vector<double> position_losses(const std::uint16_t* tokens,
                                                    std::size_t count) const;
  /// The floor of one window of `count` tokens as an evaluator measures it: the mean of
  /// position_losses over positions 1..count-1 (count >= 2).
  [[nodiscard]] double optimal_loss_on_window(const std::uint16_t* tokens, std::size_t count) const;
  /// Mean of optimal_loss_on_window over windows of block_size + 1 tokens at `offsets` of a
  /// stream (e.g. the evaluator's own window offsets into val.bin): the floor of that evaluation.
  [[nodiscard]] double optimal_loss_on_windows(const std::uint16_t* stream, std::size_t size,
                                               const std::vector<std::uint64_t>& offsets,
                                               int block_size) const;
  /// Monte-Carlo estimate of the expected floor for `block_size` from `windows` windows of a
  /// stream sampled with `seed` (spaced so they are nearly independent).
  [[nodiscard]] FloorEstimate estimate_floor(int block_size, std::size_t windows,
                                             std::uint64_t seed) const;

  // ---- closed-form entropies (nats per token), bounds on the floor ----
  /// H(X) of the stationary token marginal (a unigram model's best loss).
  [[nodiscard]] double unigram_entropy() const;
  /// H(X_1 | X_0): the exact floor at position 1, and an upper bound at every later position
  /// (a bigram model's best loss).
  [[nodiscard]] double bigram_conditional_entropy() const;
  /// H(X_t | X_{t-1}, Z_t): the loss of an oracle that knows the topic; a lower bound on the
  /// floor at every position.
  [[nodiscard]] double oracle_topic_entropy() const;

  // Internal tables, exposed to the sampler.
  struct Tables;
  [[nodiscard]] const Tables& tables() const { return *tables_; }
  ~TopicHmm();
  TopicHmm(TopicHmm&&) noexcept;
  TopicHmm& operator=(TopicHmm&&) noexcept;

 private:
  void build_structure();
  void compute_stationary();
  TopicHmmParams params_;
  std::unique_ptr<Tables> tables_;
  std::vector<double> topic_prob_;    // w(z)
  std::vector<double> unigram_prob_;  // u_z(y), [z * V + y]
  std::vector<double> rank_prob_;     // successor rank probabilities (shared by all rows)
  double switch_prob_ = 0;            // effective (quantized) values
  double restart_prob_ = 0;
  std::vector<double> stationary_;  // pi(z, x), [z * V + x]
};

/// Draws a stationary token stream from a TopicHmm: integer arithmetic only, so a (hmm, seed)
/// pair gives the same tokens everywhere. The constructor runs a burn-in long enough that the
/// state's distance from stationarity is below e^-70.
class TopicHmmSampler {
 public:
  TopicHmmSampler(const TopicHmm& hmm, std::uint64_t seed);
  void fill(std::uint16_t* out, std::size_t count);
  /// Current hidden topic (for tests).
  [[nodiscard]] std::uint32_t topic() const { return topic_; }

 private:
  std::uint16_t step();
  const TopicHmm& hmm_;
  std::uint64_t rng_state_;
  std::uint32_t topic_ = 0;
  std::uint32_t token_ = 0;
};

/// Integer Zipf weight of rank r >= 1 for an exponent that is a multiple of 0.25:
/// max(1, round(2^24 / r^exponent)), computed with sqrt and products only.
std::uint64_t zipf_weight(std::uint64_t rank, double exponent);

}  // namespace rebench::lm
