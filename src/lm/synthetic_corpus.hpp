// Synthetic corpora: "synthetic:NAME[,key=value...]" specs resolved from
// configs/synthetic/NAME.json, generated deterministically into the token-corpus format with the
// exact floor in the manifest.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lm/synthetic_hmm.hpp"
#include "lm/token_corpus.hpp"

namespace rebench::lm {

/// Bumped whenever the generator would produce different tokens for the same definition;
/// recorded in the manifest so an older cached corpus is regenerated.
constexpr int kSyntheticGeneratorVersion = 1;

/// A resolved synthetic spec: everything that determines the corpus's bytes, plus how its floor
/// is documented.
struct SyntheticSpec {
  std::string spec;         ///< as given, e.g. "synthetic:topic_hmm,train_tokens=100000"
  std::string name;         ///< the config name ("topic_hmm")
  std::string corpus_name;  ///< folder name under corpora_dir(): "synthetic-NAME", plus a hash
                            ///< of the definition when there are overrides
  std::filesystem::path config_file;
  std::string description;
  TopicHmmParams params;
  std::uint64_t train_tokens = 0;
  std::uint64_t val_tokens = 0;
  std::uint64_t data_seed = 1;         ///< seeds the sampled streams (params.seed the structure)
  std::vector<int> floor_block_sizes;  ///< block sizes whose floor the manifest documents
  std::size_t floor_windows = 2000;    ///< Monte-Carlo windows per documented floor

  /// Canonical JSON of every field that determines the tokens (generator version included).
  [[nodiscard]] nlohmann::json definition() const;
  [[nodiscard]] std::string definition_sha256() const;
};

/// True for "synthetic:..." specs.
bool is_synthetic_spec(const std::string& spec);

/// Parses "synthetic:NAME" or "synthetic:NAME,key=value,...": NAME is configs/synthetic/NAME.json
/// (or `config_dir`/NAME.json); keys override the config's params (vocab_size, topics, branching,
/// *_exponent, switch_prob, restart_prob, seed) or train_tokens, val_tokens, data_seed.
/// Errors name the file and JSON path (ConfigError) or the bad override (UsageError).
SyntheticSpec resolve_synthetic_spec(const std::string& spec,
                                     const std::filesystem::path& config_dir = {});

struct SyntheticCorpusResult {
  std::filesystem::path dir;
  std::string manifest_sha256;
  bool generated = false;  ///< false: an up-to-date corpus was already there and was kept
  nlohmann::json manifest;
};

/// Generates the corpus of `spec` into `dir` (default: corpora_dir()/corpus_name) unless `dir`
/// already holds one generated from the same definition by this generator version (then it is
/// opened and kept: idempotent). `force` regenerates anyway. Progress lines go to `on_line`
/// (default: the log). The manifest's "synthetic" object holds the definition, the structure
/// params, closed-form entropies (bounds on the floor) and Monte-Carlo floors per block size.
SyntheticCorpusResult prepare_synthetic_corpus(
    const std::string& spec, const std::filesystem::path& dir = {},
    const std::function<void(const std::string&)>& on_line = {}, bool force = false);

/// The source a synthetic corpus was generated from (rebuilt from its manifest), so an evaluator
/// can compute the exact floor of its own windows with TopicHmm::optimal_loss_on_windows.
/// Error when the corpus is not a synthetic one.
TopicHmm synthetic_source(const TokenCorpus& corpus);

}  // namespace rebench::lm
