// Topic HMM source: exact probabilities, the forward algorithm against brute-force enumeration,
// the sampler against the model it claims to sample, floor bounds, determinism, and a count
// model that must not beat the floor.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <unordered_map>

#include "lm/synthetic_hmm.hpp"
#include "rebench/errors.hpp"
#include "rebench/sha256.hpp"

namespace rebench::lm {
namespace {

TopicHmmParams tiny_params() {
  TopicHmmParams p;
  p.vocab_size = 4;
  p.topics = 2;
  p.branching = 2;
  p.switch_prob = 0.1;
  p.restart_prob = 0.2;
  p.seed = 3;
  return p;
}

std::vector<std::uint16_t> sample(const TopicHmm& hmm, std::uint64_t seed, std::size_t count) {
  std::vector<std::uint16_t> tokens(count);
  TopicHmmSampler(hmm, seed).fill(tokens.data(), count);
  return tokens;
}

// p(x_0..x_{n-1}) by summing over every topic path: independent of the forward algorithm.
double brute_force_probability(const TopicHmm& hmm, const std::vector<std::uint16_t>& x) {
  const std::uint32_t S = hmm.topics();
  std::size_t paths = 1;
  for (std::size_t i = 0; i < x.size(); ++i) paths *= S;
  double total = 0;
  for (std::size_t code = 0; code < paths; ++code) {
    std::vector<std::uint32_t> z(x.size());
    std::size_t c = code;
    for (auto& zi : z) {
      zi = static_cast<std::uint32_t>(c % S);
      c /= S;
    }
    double p = hmm.stationary(z[0], x[0]);
    for (std::size_t i = 1; i < x.size(); ++i)
      p *= hmm.topic_transition(z[i - 1], z[i]) * hmm.emission(z[i], x[i - 1], x[i]);
    total += p;
  }
  return total;
}

// Every sequence of `length` tokens over the vocabulary, in lexicographic order.
std::vector<std::vector<std::uint16_t>> all_sequences(std::uint32_t vocab, std::size_t length) {
  std::vector<std::vector<std::uint16_t>> out;
  std::vector<std::uint16_t> x(length, 0);
  while (true) {
    out.push_back(x);
    std::size_t i = 0;
    while (i < length && ++x[i] == vocab) x[i++] = 0;
    if (i == length) return out;
  }
}

TEST(TopicHmm, ZipfWeightsAreExact) {
  EXPECT_EQ(zipf_weight(1, 1.0), 1u << 24);
  EXPECT_EQ(zipf_weight(4, 1.0), 1u << 22);
  EXPECT_EQ(zipf_weight(16, 0.5), 1u << 22);
  EXPECT_EQ(zipf_weight(16, 1.25), 1u << 19);
  EXPECT_EQ(zipf_weight(3, 0.0), 1u << 24);
  EXPECT_EQ(zipf_weight(3, 1.0), 5592405u);  // round(2^24 / 3)
  EXPECT_EQ(zipf_weight(60000, 4.0), 1u);    // floored at 1: every token stays reachable
  EXPECT_THROW(zipf_weight(0, 1.0), Error);
  EXPECT_THROW(zipf_weight(2, 0.3), Error);
}

TEST(TopicHmm, ValidatesParams) {
  auto rejects = [](auto change, const std::string& field) {
    TopicHmmParams p;
    change(p);
    try {
      p.validate();
      ADD_FAILURE() << "accepted bad " << field;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  rejects([](TopicHmmParams& p) { p.vocab_size = 1; }, "vocab_size");
  rejects([](TopicHmmParams& p) { p.vocab_size = 70000; }, "vocab_size");
  rejects([](TopicHmmParams& p) { p.topics = 0; }, "topics");
  rejects([](TopicHmmParams& p) { p.branching = 300; }, "branching");
  rejects([](TopicHmmParams& p) { p.token_exponent = 1.1; }, "token_exponent");
  rejects([](TopicHmmParams& p) { p.switch_prob = 0; }, "switch_prob");
  rejects([](TopicHmmParams& p) { p.restart_prob = 1.5; }, "restart_prob");
  EXPECT_NO_THROW(TopicHmmParams().validate());
}

TEST(TopicHmm, ProbabilitiesAreNormalisedAndStationary) {
  for (const TopicHmmParams& params : {tiny_params(), TopicHmmParams()}) {
    TopicHmm hmm(params);
    const std::uint32_t V = hmm.vocab_size(), S = hmm.topics();
    double total = 0;
    for (std::uint32_t z = 0; z < S; ++z) {
      double row = 0, marginal = 0;
      for (std::uint32_t to = 0; to < S; ++to) row += hmm.topic_transition(z, to);
      EXPECT_NEAR(row, 1.0, 1e-12);
      for (std::uint32_t x = 0; x < V; ++x) marginal += hmm.stationary(z, x);
      EXPECT_NEAR(marginal, hmm.topic_weight(z), 1e-12) << "topic marginal is not w";
      total += marginal;
      for (std::uint32_t x = 0; x < V; x += 7) {
        double emission = 0;
        for (std::uint32_t y = 0; y < V; ++y) emission += hmm.emission(z, x, y);
        EXPECT_NEAR(emission, 1.0, 1e-12);
      }
    }
    EXPECT_NEAR(total, 1.0, 1e-12);
    // One step of the joint chain leaves pi unchanged.
    double residual = 0;
    for (std::uint32_t z = 0; z < S; ++z)
      for (std::uint32_t y = 0; y < V; y += (V > 16 ? 13 : 1)) {
        double next = 0;
        for (std::uint32_t from = 0; from < S; ++from)
          for (std::uint32_t x = 0; x < V; ++x)
            next += hmm.stationary(from, x) * hmm.topic_transition(from, z) * hmm.emission(z, x, y);
        residual = std::max(residual, std::abs(next - hmm.stationary(z, y)));
      }
    EXPECT_LT(residual, 1e-13);
  }
}

TEST(TopicHmm, ForwardAlgorithmMatchesBruteForceEnumeration) {
  TopicHmm hmm(tiny_params());
  double total = 0;
  for (const auto& x : all_sequences(4, 5)) {
    double p = brute_force_probability(hmm, x);
    total += p;
    std::vector<double> losses = hmm.position_losses(x.data(), x.size());
    double forward = std::accumulate(losses.begin(), losses.end(), 0.0);
    ASSERT_NEAR(forward, -std::log(p), 1e-10);
  }
  EXPECT_NEAR(total, 1.0, 1e-12);
}

// h_t = H(X_t | X_0..X_{t-1}) exactly, by enumerating every sequence of t + 1 tokens.
std::vector<double> exact_conditional_entropies(const TopicHmm& hmm, std::size_t max_t) {
  std::vector<double> h;
  for (std::size_t t = 1; t <= max_t; ++t) {
    double sum = 0;
    for (const auto& x : all_sequences(hmm.vocab_size(), t + 1)) {
      std::vector<double> losses = hmm.position_losses(x.data(), x.size());
      double log_p = -std::accumulate(losses.begin(), losses.end(), 0.0);
      sum += std::exp(log_p) * losses[t];
    }
    h.push_back(sum);
  }
  return h;
}

TEST(TopicHmm, SamplerAgreesWithTheExactFloor) {
  TopicHmm hmm(tiny_params());
  const int block = 6;
  std::vector<double> h = exact_conditional_entropies(hmm, block);
  EXPECT_NEAR(h[0], hmm.bigram_conditional_entropy(), 1e-10) << "position 1 is the bigram floor";
  for (std::size_t t = 1; t < h.size(); ++t) {
    EXPECT_LE(h[t], h[t - 1] + 1e-12) << "conditioning on more cannot raise entropy";
    EXPECT_GE(h[t], hmm.oracle_topic_entropy() - 1e-12) << "the topic oracle bounds it below";
  }
  EXPECT_LT(h.back(), h.front() - 0.01) << "context beyond one token must help in this HMM";
  const double exact = std::accumulate(h.begin(), h.end(), 0.0) / block;
  // Windows drawn by the sampler, scored by the forward algorithm: the same expectation.
  FloorEstimate estimate = hmm.estimate_floor(block, 40000, 99);
  EXPECT_NEAR(estimate.mean, exact, 4 * estimate.standard_error)
      << "stderr " << estimate.standard_error;
  EXPECT_LT(estimate.standard_error, 0.01);
  for (int t = 0; t < block; ++t)
    EXPECT_NEAR(estimate.per_position[t], h[t], 0.03) << "t=" << t + 1;

  // Pair frequencies of a long sampled stream match the stationary law p(x_0, x_1).
  std::vector<std::uint16_t> stream = sample(hmm, 5, 400000);
  std::map<std::pair<std::uint16_t, std::uint16_t>, double> counts;
  for (std::size_t i = 1; i < stream.size(); ++i)
    counts[std::make_pair(stream[i - 1], stream[i])] += 1;
  for (std::uint16_t a = 0; a < 4; ++a)
    for (std::uint16_t b = 0; b < 4; ++b) {
      std::vector<std::uint16_t> pair{a, b};
      double p = brute_force_probability(hmm, pair);
      double n = double(stream.size() - 1);
      // Neighbouring pairs are correlated: allow 6 binomial sigmas.
      const double tolerance = 6 * std::sqrt(p * (1 - p) / n) + 1e-4;
      EXPECT_NEAR(counts[std::make_pair(a, b)] / n, p, tolerance) << a << "," << b;
    }
}

TEST(TopicHmm, OneTopicIsAMarkovChainWithAClosedFormFloor) {
  TopicHmmParams params = tiny_params();
  params.topics = 1;
  params.vocab_size = 32;
  params.branching = 4;
  TopicHmm hmm(params);
  EXPECT_NEAR(hmm.bigram_conditional_entropy(), hmm.oracle_topic_entropy(), 1e-12);
  std::vector<std::uint16_t> x = sample(hmm, 1, 1000);
  std::vector<double> losses = hmm.position_losses(x.data(), x.size());
  for (std::size_t i = 1; i < x.size(); ++i)
    ASSERT_NEAR(losses[i], -std::log(hmm.emission(0, x[i - 1], x[i])), 1e-12);
  FloorEstimate f = hmm.estimate_floor(32, 4000, 2);
  EXPECT_NEAR(f.mean, hmm.bigram_conditional_entropy(), 4 * f.standard_error);
}

TEST(TopicHmm, DefaultSourceHasStructureBeyondBigrams) {
  TopicHmm hmm{TopicHmmParams()};
  const double unigram = hmm.unigram_entropy(), bigram = hmm.bigram_conditional_entropy(),
               oracle = hmm.oracle_topic_entropy();
  FloorEstimate f = hmm.estimate_floor(64, 1000, 4);
  EXPECT_GT(unigram, bigram + 1.0);
  EXPECT_GT(bigram, f.mean + 0.5) << "topics must be inferable from the context";
  EXPECT_GT(f.mean, oracle);
  EXPECT_NEAR(f.per_position.front(), bigram, 0.25);
  EXPECT_LT(f.per_position.back(), f.per_position.front());
}

TEST(TopicHmm, SamplingIsDeterministic) {
  TopicHmm hmm{TopicHmmParams()};
  std::vector<std::uint16_t> a = sample(hmm, 1, 100000), b = sample(hmm, 1, 100000);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, sample(hmm, 2, 100000));
  TopicHmmParams other;
  other.seed = 2;
  EXPECT_NE(a, sample(TopicHmm(other), 1, 100000)) << "the structure seed changes the source";
  // Pinned: the same bytes on every machine and compiler. If this changes, the generator
  // changed: bump kSyntheticGeneratorVersion (cached corpora are then regenerated).
  std::string bytes(reinterpret_cast<const char*>(a.data()), a.size() * 2);
  EXPECT_EQ(sha256_hex(bytes), "39bc2665a947d9500ab74f2c6c03a336b1f93cf8dad146bd21b40b0d77679e6d");
}

// An interpolated trigram model fitted on 3M tokens is scored on the same val positions as the
// Bayes-optimal predictor: it must not beat the floor beyond noise, and must lose to it clearly
// (the topics carry information beyond two tokens of context).
TEST(TopicHmm, CountModelDoesNotBeatTheFloor) {
  TopicHmm hmm{TopicHmmParams()};
  const std::uint32_t V = hmm.vocab_size();
  std::vector<std::uint16_t> train = sample(hmm, 7, 3'000'000);
  std::vector<double> uni(V, 0.0), bi(std::size_t{V} * V, 0.0), bi_ctx(V, 0.0);
  std::unordered_map<std::uint64_t, double> tri;  // key (a * V + b) * V + y
  std::unordered_map<std::uint32_t, double> tri_ctx;
  tri.reserve(1 << 20);
  for (std::size_t i = 0; i < train.size(); ++i) {
    uni[train[i]] += 1;
    if (i >= 1) {
      bi[std::size_t{train[i - 1]} * V + train[i]] += 1;
      bi_ctx[train[i - 1]] += 1;
    }
    if (i >= 2) {
      std::uint32_t ctx = std::uint32_t{train[i - 2]} * V + train[i - 1];
      tri[std::uint64_t{ctx} * V + train[i]] += 1;
      tri_ctx[ctx] += 1;
    }
  }
  auto model = [&](std::uint16_t a, std::uint16_t b, std::uint16_t y) {
    double p = 0.02 / V + 0.08 * (uni[y] + 1) / (double(train.size()) + V);
    double bc = bi_ctx[b];
    p += bc > 0 ? 0.3 * bi[std::size_t{b} * V + y] / bc
                : 0.3 * (uni[y] + 1) / (double(train.size()) + V);
    std::uint32_t ctx = std::uint32_t{a} * V + b;
    auto it = tri_ctx.find(ctx);
    double tri_p = (uni[y] + 1) / (double(train.size()) + V);
    if (it != tri_ctx.end()) {
      auto hit = tri.find(std::uint64_t{ctx} * V + y);
      tri_p = (hit == tri.end() ? 0.0 : hit->second) / it->second;
    }
    return p + 0.6 * tri_p;
  };
  std::vector<std::uint16_t> val = sample(hmm, 8, 300'000);
  const std::size_t window = 257;
  double diff_sum = 0, diff_sq = 0, count_loss = 0, floor_loss = 0;
  std::size_t windows = 0;
  for (std::size_t start = 0; start + window <= val.size(); start += window, ++windows) {
    std::vector<double> optimal = hmm.position_losses(&val[start], window);
    double diff = 0, c = 0, o = 0;
    for (std::size_t t = 2; t < window; ++t) {
      double loss = -std::log(model(val[start + t - 2], val[start + t - 1], val[start + t]));
      c += loss;
      o += optimal[t];
      diff += loss - optimal[t];
    }
    diff /= double(window - 2);
    count_loss += c / double(window - 2);
    floor_loss += o / double(window - 2);
    diff_sum += diff;
    diff_sq += diff * diff;
  }
  const double n = double(windows), mean = diff_sum / n;
  const double se = std::sqrt((diff_sq / n - mean * mean) / (n - 1));
  count_loss /= n;
  floor_loss /= n;
  EXPECT_GT(mean, -3 * se) << "count model " << count_loss << " beat the floor " << floor_loss;
  EXPECT_GT(mean, 0.2) << "count model " << count_loss << " vs floor " << floor_loss;
  EXPECT_GT(count_loss, hmm.oracle_topic_entropy());
  std::printf("trigram count model %.4f nats, floor %.4f, paired difference %.4f +- %.4f\n",
              count_loss, floor_loss, mean, se);
}

TEST(TopicHmm, RejectsBadWindowsAndTokens) {
  TopicHmm hmm(tiny_params());
  std::vector<std::uint16_t> x{0, 1, 2, 3, 9};
  EXPECT_THROW((void)hmm.position_losses(x.data(), x.size()), Error);
  EXPECT_THROW((void)hmm.optimal_loss_on_window(x.data(), 1), Error);
  EXPECT_NO_THROW((void)hmm.optimal_loss_on_window(x.data(), 4));
  EXPECT_THROW((void)hmm.optimal_loss_on_windows(x.data(), 4, {2}, 3), Error);
  EXPECT_NEAR(hmm.optimal_loss_on_windows(x.data(), 4, {0}, 3),
              hmm.optimal_loss_on_window(x.data(), 4), 1e-15);
  EXPECT_THROW((void)hmm.estimate_floor(0, 10, 1), Error);
}

}  // namespace
}  // namespace rebench::lm
