// The topic HMM: integer-exact structure and sampling, forward-algorithm floor, entropies.
#include "lm/synthetic_hmm.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>

#include "rebench/errors.hpp"

namespace rebench::lm {

namespace {

// splitmix64 (Steele, Lea, Flood 2014): same output with every compiler and standard library.
std::uint64_t next_random(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// Uniform in [0, bound) by rejection (no modulo bias); bound > 0.
std::uint64_t random_below(std::uint64_t& state, std::uint64_t bound) {
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  std::uint64_t value;
  do value = next_random(state);
  while (value >= limit);
  return value % bound;
}

// Index i with cum[i-1] <= v < cum[i] for v uniform in [0, cum.back()): a weighted draw.
std::size_t draw(std::uint64_t& state, const std::uint64_t* cum, std::size_t n) {
  std::uint64_t v = random_below(state, cum[n - 1]);
  return static_cast<std::size_t>(std::upper_bound(cum, cum + n, v) - cum);
}

// Probability p as a threshold on a 32-bit uniform: P(u < threshold) = threshold / 2^32 exactly.
std::uint64_t threshold(double p) {
  return static_cast<std::uint64_t>(std::llround(p * 4294967296.0));
}

// A seed for a named purpose, so streams of one HMM never overlap by construction.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t purpose) {
  std::uint64_t state = seed ^ (purpose * 0xD1B54A32D192ED03ULL);
  next_random(state);
  return next_random(state);
}

void require(bool ok, const std::string& field, const std::string& what) {
  if (!ok) throw Error("synthetic topic_hmm: " + field + " " + what, ExitCode::kUsage);
}

bool quarter_multiple(double exponent) {
  double q = exponent * 4;
  return std::isfinite(q) && q >= 0 && q <= 16 && q == std::floor(q);
}

double entropy(const std::vector<double>& p) {
  double h = 0;
  for (double x : p)
    if (x > 0) h -= x * std::log(x);
  return h;
}

}  // namespace

struct TopicHmm::Tables {
  std::vector<std::uint64_t> topic_cum;    // inclusive cumulative topic weights
  std::vector<std::uint64_t> unigram_cum;  // [z * V + y], per topic inclusive cumulative
  std::vector<std::uint16_t> successors;   // [(z * V + x) * b + j]
  std::vector<std::uint64_t> rank_cum;     // successor rank weights, inclusive cumulative
  std::uint64_t switch_threshold = 0;
  std::uint64_t restart_threshold = 0;
};

std::uint64_t zipf_weight(std::uint64_t rank, double exponent) {
  if (rank == 0 || !quarter_multiple(exponent))
    throw Error("zipf_weight: rank must be >= 1 and the exponent a multiple of 0.25 in [0, 4]");
  const auto quarters = static_cast<int>(exponent * 4);
  const double fourth_root = std::sqrt(std::sqrt(static_cast<double>(rank)));
  double power = 1;
  for (int i = 0; i < quarters; ++i) power *= fourth_root;  // rank^(quarters/4)
  return std::max<std::uint64_t>(1, static_cast<std::uint64_t>(std::llround(16777216.0 / power)));
}

void TopicHmmParams::validate() const {
  require(vocab_size >= 2 && vocab_size <= 65536, "vocab_size", "must be in [2, 65536]");
  require(topics >= 1 && topics <= 1024, "topics", "must be in [1, 1024]");
  require(branching >= 1 && branching <= vocab_size / 2 && branching <= 256, "branching",
          "must be in [1, min(vocab_size / 2, 256)]");
  for (auto [name, value] :
       {std::pair{"topic_exponent", topic_exponent}, std::pair{"token_exponent", token_exponent},
        std::pair{"successor_exponent", successor_exponent}})
    require(quarter_multiple(value), name, "must be a multiple of 0.25 in [0, 4]");
  // Lower bounds keep the burn-in (and the streams' mixing) short: 1/p steps per event.
  require(switch_prob >= 1e-5 && switch_prob <= 1, "switch_prob", "must be in [1e-5, 1]");
  require(restart_prob >= 1e-5 && restart_prob <= 1, "restart_prob", "must be in [1e-5, 1]");
}

nlohmann::json TopicHmmParams::to_json() const {
  return {{"vocab_size", vocab_size},
          {"topics", topics},
          {"branching", branching},
          {"topic_exponent", topic_exponent},
          {"token_exponent", token_exponent},
          {"successor_exponent", successor_exponent},
          {"switch_prob", switch_prob},
          {"restart_prob", restart_prob},
          {"seed", seed}};
}

TopicHmm::TopicHmm(const TopicHmmParams& params)
    : params_(params), tables_(std::make_unique<Tables>()) {
  params_.validate();
  build_structure();
  compute_stationary();
}

TopicHmm::~TopicHmm() = default;
TopicHmm::TopicHmm(TopicHmm&&) noexcept = default;
TopicHmm& TopicHmm::operator=(TopicHmm&&) noexcept = default;

void TopicHmm::build_structure() {
  const std::uint32_t V = params_.vocab_size, S = params_.topics, B = params_.branching;
  Tables& t = *tables_;
  std::uint64_t rng = derive_seed(params_.seed, 1);

  std::uint64_t total = 0;
  for (std::uint32_t z = 0; z < S; ++z)
    t.topic_cum.push_back(total += zipf_weight(z + 1, params_.topic_exponent));
  for (std::uint32_t z = 0; z < S; ++z)
    topic_prob_.push_back(double(t.topic_cum[z] - (z ? t.topic_cum[z - 1] : 0)) / double(total));

  total = 0;
  for (std::uint32_t j = 0; j < B; ++j)
    t.rank_cum.push_back(total += zipf_weight(j + 1, params_.successor_exponent));
  for (std::uint32_t j = 0; j < B; ++j)
    rank_prob_.push_back(double(t.rank_cum[j] - (j ? t.rank_cum[j - 1] : 0)) / double(total));

  t.unigram_cum.resize(std::size_t{S} * V);
  unigram_prob_.resize(std::size_t{S} * V);
  t.successors.resize(std::size_t{S} * V * B);
  std::vector<std::uint32_t> permutation(V);
  std::vector<std::uint64_t> weight(V);
  std::vector<std::uint8_t> taken(V, 0);
  for (std::uint32_t z = 0; z < S; ++z) {
    // Each topic ranks the vocabulary differently (Fisher-Yates): its frequent tokens differ.
    std::iota(permutation.begin(), permutation.end(), 0u);
    for (std::uint32_t i = V - 1; i > 0; --i)
      std::swap(permutation[i], permutation[random_below(rng, i + 1)]);
    for (std::uint32_t r = 0; r < V; ++r)
      weight[permutation[r]] = zipf_weight(r + 1, params_.token_exponent);
    std::uint64_t* cum = &t.unigram_cum[std::size_t{z} * V];
    total = 0;
    for (std::uint32_t y = 0; y < V; ++y) cum[y] = (total += weight[y]);
    for (std::uint32_t y = 0; y < V; ++y)
      unigram_prob_[std::size_t{z} * V + y] = double(weight[y]) / double(total);
    // Successors: `branching` distinct tokens drawn from the topic's unigram distribution.
    for (std::uint32_t x = 0; x < V; ++x) {
      std::uint16_t* row = &t.successors[(std::size_t{z} * V + x) * B];
      for (std::uint32_t j = 0; j < B; ++j) {
        std::size_t y;
        do y = draw(rng, cum, V);
        while (taken[y]);
        taken[y] = 1;
        row[j] = static_cast<std::uint16_t>(y);
      }
      for (std::uint32_t j = 0; j < B; ++j) taken[row[j]] = 0;
    }
  }
  t.switch_threshold = threshold(params_.switch_prob);
  t.restart_threshold = threshold(params_.restart_prob);
  switch_prob_ = double(t.switch_threshold) / 4294967296.0;
  restart_prob_ = double(t.restart_threshold) / 4294967296.0;
}

double TopicHmm::topic_transition(std::uint32_t from, std::uint32_t to) const {
  return (from == to ? 1 - switch_prob_ : 0) + switch_prob_ * topic_prob_[to];
}

double TopicHmm::emission(std::uint32_t topic, std::uint32_t prev, std::uint32_t next) const {
  const std::uint32_t V = params_.vocab_size, B = params_.branching;
  const std::uint16_t* row = &tables_->successors[(std::size_t{topic} * V + prev) * B];
  double p = restart_prob_ * unigram_prob_[std::size_t{topic} * V + next];
  for (std::uint32_t j = 0; j < B; ++j)
    if (row[j] == next) p += (1 - restart_prob_) * rank_prob_[j];
  return p;
}

// Power iteration on the joint chain (topic, token). The topic marginal is w exactly (the topic
// process alone is a chain with stationary law w), which seeds the iteration.
void TopicHmm::compute_stationary() {
  const std::uint32_t V = params_.vocab_size, S = params_.topics, B = params_.branching;
  const Tables& t = *tables_;
  std::vector<double> pi(std::size_t{S} * V), next(pi.size()), marginal(V);
  for (std::uint32_t z = 0; z < S; ++z)
    for (std::uint32_t x = 0; x < V; ++x)
      pi[std::size_t{z} * V + x] = topic_prob_[z] * unigram_prob_[std::size_t{z} * V + x];
  // Contraction: as for the sampler's burn-in, n iterations leave an error below
  // (1 - eps)^(n/2) + (1 - delta)^(n/2), so `enough` iterations reach ~1e-17 whatever rounding
  // noise does to the observed change (which can stall near 1e-15 for large tables).
  const auto enough =
      static_cast<long>(std::ceil(80 / std::min(switch_prob_, restart_prob_))) + 100;
  for (long iteration = 0; iteration < enough; ++iteration) {
    std::fill(marginal.begin(), marginal.end(), 0.0);
    for (std::uint32_t z = 0; z < S; ++z)
      for (std::uint32_t x = 0; x < V; ++x) marginal[x] += pi[std::size_t{z} * V + x];
    // before(z, x) = P(Z_t = z, X_{t-1} = x); then emit.
    std::fill(next.begin(), next.end(), 0.0);
    for (std::uint32_t z = 0; z < S; ++z) {
      double mass = 0;
      for (std::uint32_t x = 0; x < V; ++x) {
        double b = (1 - switch_prob_) * pi[std::size_t{z} * V + x] +
                   switch_prob_ * topic_prob_[z] * marginal[x];
        mass += b;
        const std::uint16_t* row = &t.successors[(std::size_t{z} * V + x) * B];
        for (std::uint32_t j = 0; j < B; ++j)
          next[std::size_t{z} * V + row[j]] += b * (1 - restart_prob_) * rank_prob_[j];
      }
      for (std::uint32_t y = 0; y < V; ++y)
        next[std::size_t{z} * V + y] +=
            mass * restart_prob_ * unigram_prob_[std::size_t{z} * V + y];
    }
    double change = 0, sum = 0;
    for (std::size_t i = 0; i < pi.size(); ++i) {
      change += std::abs(next[i] - pi[i]);
      sum += next[i];
    }
    for (std::size_t i = 0; i < pi.size(); ++i) pi[i] = next[i] / sum;
    if (change < 1e-15) break;
  }
  // The topic marginal must be w exactly (up to rounding): a cheap self-check of the iteration.
  for (std::uint32_t z = 0; z < S; ++z) {
    double mass = 0;
    for (std::uint32_t x = 0; x < V; ++x) mass += pi[std::size_t{z} * V + x];
    if (std::abs(mass - topic_prob_[z]) > 1e-9)
      throw Error("synthetic topic_hmm: stationary topic marginal " + std::to_string(mass) +
                  " differs from the topic weight " + std::to_string(topic_prob_[z]));
  }
  stationary_ = std::move(pi);
}

std::vector<double> TopicHmm::position_losses(const std::uint16_t* tokens,
                                              std::size_t count) const {
  const std::uint32_t V = params_.vocab_size, S = params_.topics;
  std::vector<double> losses;
  losses.reserve(count);
  std::vector<double> posterior(S), prior(S);
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint32_t x = tokens[i];
    if (x >= V)
      throw Error("topic_hmm: token id " + std::to_string(x) + " at position " + std::to_string(i) +
                  " is outside the vocabulary of " + std::to_string(V));
    double p = 0;
    if (i == 0) {
      for (std::uint32_t z = 0; z < S; ++z) p += posterior[z] = stationary(z, x);
    } else {
      // posterior sums to 1, so the topic step is (1 - eps) * posterior + eps * w.
      for (std::uint32_t z = 0; z < S; ++z)
        prior[z] = (1 - switch_prob_) * posterior[z] + switch_prob_ * topic_prob_[z];
      for (std::uint32_t z = 0; z < S; ++z)
        p += posterior[z] = prior[z] * emission(z, tokens[i - 1], x);
    }
    for (double& a : posterior) a /= p;
    losses.push_back(-std::log(p));
  }
  return losses;
}

double TopicHmm::optimal_loss_on_window(const std::uint16_t* tokens, std::size_t count) const {
  if (count < 2) throw Error("topic_hmm: a window needs at least 2 tokens (one prediction)");
  std::vector<double> losses = position_losses(tokens, count);
  return std::accumulate(losses.begin() + 1, losses.end(), 0.0) / double(count - 1);
}

double TopicHmm::optimal_loss_on_windows(const std::uint16_t* stream, std::size_t size,
                                         const std::vector<std::uint64_t>& offsets,
                                         int block_size) const {
  if (block_size < 1 || offsets.empty())
    throw Error("topic_hmm: optimal_loss_on_windows needs block_size >= 1 and some offsets");
  double sum = 0;
  for (std::uint64_t offset : offsets) {
    if (offset > size || size - offset < std::uint64_t(block_size) + 1)
      throw Error("topic_hmm: window at offset " + std::to_string(offset) +
                  " runs past the end of the stream (" + std::to_string(size) + " tokens)");
    sum += optimal_loss_on_window(stream + offset, std::size_t(block_size) + 1);
  }
  return sum / double(offsets.size());
}

FloorEstimate TopicHmm::estimate_floor(int block_size, std::size_t windows,
                                       std::uint64_t seed) const {
  if (block_size < 1 || windows < 2)
    throw Error("topic_hmm: estimate_floor needs block_size >= 1 and at least 2 windows");
  FloorEstimate estimate;
  estimate.block_size = block_size;
  estimate.windows = windows;
  estimate.per_position.assign(std::size_t(block_size), 0.0);
  // Gaps of several mixing times between windows make them nearly independent.
  const auto gap = static_cast<std::size_t>(std::ceil(10 / std::min(switch_prob_, restart_prob_)));
  TopicHmmSampler sampler(*this, seed);
  std::vector<std::uint16_t> window(std::size_t(block_size) + 1), skip(gap);
  double sum = 0, sum_sq = 0;
  for (std::size_t w = 0; w < windows; ++w) {
    sampler.fill(skip.data(), skip.size());
    sampler.fill(window.data(), window.size());
    std::vector<double> losses = position_losses(window.data(), window.size());
    double mean = 0;
    for (int t = 1; t <= block_size; ++t) {
      estimate.per_position[std::size_t(t - 1)] += losses[std::size_t(t)];
      mean += losses[std::size_t(t)];
    }
    mean /= block_size;
    sum += mean;
    sum_sq += mean * mean;
  }
  const double n = double(windows);
  for (double& h : estimate.per_position) h /= n;
  estimate.mean = sum / n;
  estimate.standard_error =
      std::sqrt(std::max(0.0, (sum_sq / n - estimate.mean * estimate.mean) / (n - 1)));
  return estimate;
}

double TopicHmm::unigram_entropy() const {
  const std::uint32_t V = params_.vocab_size, S = params_.topics;
  std::vector<double> marginal(V, 0.0);
  for (std::uint32_t z = 0; z < S; ++z)
    for (std::uint32_t x = 0; x < V; ++x) marginal[x] += stationary(z, x);
  return entropy(marginal);
}

double TopicHmm::bigram_conditional_entropy() const {
  const std::uint32_t V = params_.vocab_size, S = params_.topics;
  double h = 0;
  std::vector<double> next(V), prior(S);
  for (std::uint32_t x = 0; x < V; ++x) {
    double mx = 0;
    for (std::uint32_t z = 0; z < S; ++z) mx += stationary(z, x);
    if (mx <= 0) continue;
    for (std::uint32_t z = 0; z < S; ++z)
      prior[z] = (1 - switch_prob_) * stationary(z, x) / mx + switch_prob_ * topic_prob_[z];
    std::fill(next.begin(), next.end(), 0.0);
    for (std::uint32_t z = 0; z < S; ++z)
      for (std::uint32_t y = 0; y < V; ++y) next[y] += prior[z] * emission(z, x, y);
    h += mx * entropy(next);
  }
  return h;
}

double TopicHmm::oracle_topic_entropy() const {
  const std::uint32_t V = params_.vocab_size, S = params_.topics;
  std::vector<double> marginal(V, 0.0), row(V);
  for (std::uint32_t z = 0; z < S; ++z)
    for (std::uint32_t x = 0; x < V; ++x) marginal[x] += stationary(z, x);
  double h = 0;
  for (std::uint32_t z = 0; z < S; ++z)
    for (std::uint32_t x = 0; x < V; ++x) {
      // P(Z_t = z, X_{t-1} = x)
      double weight =
          (1 - switch_prob_) * stationary(z, x) + switch_prob_ * topic_prob_[z] * marginal[x];
      if (weight <= 0) continue;
      for (std::uint32_t y = 0; y < V; ++y) row[y] = emission(z, x, y);
      h += weight * entropy(row);
    }
  return h;
}

TopicHmmSampler::TopicHmmSampler(const TopicHmm& hmm, std::uint64_t seed)
    : hmm_(hmm), rng_state_(derive_seed(seed, 2)) {
  const TopicHmm::Tables& t = hmm.tables();
  // Start anywhere, then burn in. The topic process ignores tokens, so after a topic redraw it
  // is stationary; after a later token restart the pair is too (a coupling argument). Hence n
  // steps leave a distance from stationarity below (1 - eps)^(n/2) + (1 - delta)^(n/2), which
  // is <= 2e^-70 for n = 140 / min(eps, delta).
  const double eps = double(t.switch_threshold) / 4294967296.0;
  const double delta = double(t.restart_threshold) / 4294967296.0;
  const auto burn_in = static_cast<std::uint64_t>(std::ceil(140 / std::min(eps, delta)));
  topic_ = static_cast<std::uint32_t>(draw(rng_state_, t.topic_cum.data(), t.topic_cum.size()));
  token_ = 0;
  for (std::uint64_t i = 0; i < burn_in; ++i) step();
}

std::uint16_t TopicHmmSampler::step() {
  const TopicHmm::Tables& t = hmm_.tables();
  const std::uint32_t V = hmm_.vocab_size(), B = hmm_.params().branching;
  if ((next_random(rng_state_) >> 32) < t.switch_threshold)
    topic_ = static_cast<std::uint32_t>(draw(rng_state_, t.topic_cum.data(), t.topic_cum.size()));
  if ((next_random(rng_state_) >> 32) < t.restart_threshold) {
    token_ =
        static_cast<std::uint32_t>(draw(rng_state_, &t.unigram_cum[std::size_t{topic_} * V], V));
  } else {
    std::size_t rank = draw(rng_state_, t.rank_cum.data(), B);
    token_ = t.successors[(std::size_t{topic_} * V + token_) * B + rank];
  }
  return static_cast<std::uint16_t>(token_);
}

void TopicHmmSampler::fill(std::uint16_t* out, std::size_t count) {
  for (std::size_t i = 0; i < count; ++i) out[i] = step();
}

}  // namespace rebench::lm
