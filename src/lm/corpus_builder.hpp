// Building a token corpus from its definition: fetch and verify packages, extract documents,
// tokenize them in parallel (byte-identical output for any thread count), split by document id,
// write train.bin / val.bin and a manifest; and finding an already built corpus in the cache.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "lm/corpus_definition.hpp"

namespace rebench::lm {

struct CorpusBuildOptions {
  std::filesystem::path out_dir;  ///< empty: corpora_dir()/<name>
  unsigned threads = 0;           ///< tokenizer threads; 0 = all cores
  bool force = false;             ///< rebuild even when a verified corpus is there
};

struct CorpusBuildResult {
  std::filesystem::path dir;
  std::string manifest_sha256;
  bool rebuilt = false;  ///< false: the cached corpus was verified and reused
  double seconds = 0;
  nlohmann::json manifest;
};

/// Returns the corpus of `definition`, building it when the cache has none, or one built from a
/// different definition, or one that fails verification (or when options.force). Progress goes
/// to the log: stages, and documents/bytes/tokens per source.
CorpusBuildResult build_corpus(const CorpusDefinition& definition,
                               const CorpusBuildOptions& options);

/// Bumped whenever extraction or cleaning changes what a definition produces; recorded in the
/// manifest so a cached corpus from older code is rebuilt.
constexpr int kCorpusBuilderVersion = 1;

}  // namespace rebench::lm
