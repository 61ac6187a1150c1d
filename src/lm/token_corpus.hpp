// Token corpora in nanoGPT's format (uint16 train.bin / val.bin) with a manifest.json: a
// memory-mapped reader, a writer that commits atomically, and resolution of corpus specs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace rebench::lm {

enum class Split { kTrain, kVal };
/// "train" / "val".
const char* to_string(Split split);

struct TokenSpan {
  const std::uint16_t* data = nullptr;
  std::size_t size = 0;
};

/// $REBENCH_CACHE/corpora: one folder per prepared corpus.
std::filesystem::path corpora_dir();

/// A read-only corpus: train.bin and val.bin memory-mapped (little-endian uint16 token ids).
/// Copies share the mappings.
class TokenCorpus {
 public:
  /// Opens a corpus folder. With manifest.json: validates its format, version and fields and
  /// that each split file has exactly `tokens` × 2 bytes. Without one, a nanoGPT folder (only
  /// train.bin and val.bin) gets a manifest synthesized in memory from the file sizes (GPT-2
  /// vocabulary: 50257, <|endoftext|> = 50256). Every problem is a rebench::Error naming the
  /// file and what is wrong.
  static TokenCorpus open(const std::filesystem::path& dir);

  [[nodiscard]] TokenSpan tokens(Split split) const;
  [[nodiscard]] const nlohmann::json& manifest() const { return manifest_; }
  /// sha256 of manifest.json's bytes (of the synthesized text for a nanoGPT folder): the
  /// provenance of every number measured on this corpus.
  [[nodiscard]] std::string manifest_sha256() const { return manifest_sha256_; }
  [[nodiscard]] std::uint32_t vocab_size() const { return vocab_size_; }
  [[nodiscard]] std::optional<std::uint32_t> eot_token() const { return eot_token_; }
  [[nodiscard]] const std::filesystem::path& dir() const { return dir_; }
  /// True when the manifest was synthesized (nanoGPT folder without manifest.json).
  [[nodiscard]] bool synthesized_manifest() const { return synthesized_; }

  /// Full check (reads every byte): each split's sha256 matches the manifest (when it records
  /// one) and every token id is below vocab_size. Throws rebench::Error on the first problem.
  void verify() const;

 private:
  struct Mapping;
  std::filesystem::path dir_;
  nlohmann::json manifest_;
  std::string manifest_sha256_;
  std::uint32_t vocab_size_ = 0;
  std::optional<std::uint32_t> eot_token_;
  bool synthesized_ = false;
  std::shared_ptr<const Mapping> train_;
  std::shared_ptr<const Mapping> val_;
};

/// Streams tokens into <dir>.partial/, then writes manifest.json and renames the folder to
/// <dir> (replacing an older one): a half-written corpus is never found at <dir>. An unfinished
/// writer removes its .partial folder when destroyed.
class TokenCorpusWriter {
 public:
  TokenCorpusWriter(std::filesystem::path dir, std::uint32_t vocab_size,
                    std::optional<std::uint32_t> eot_token);
  ~TokenCorpusWriter();
  TokenCorpusWriter(const TokenCorpusWriter&) = delete;
  TokenCorpusWriter& operator=(const TokenCorpusWriter&) = delete;

  /// Appends tokens to a split; an id ≥ vocab_size is an error.
  void append(Split split, const std::uint16_t* tokens, std::size_t count);
  [[nodiscard]] std::uint64_t token_count(Split split) const;
  /// Adds format, version, vocab_size, eot_token and splits (file, tokens, sha256) to
  /// `manifest_fields`, writes manifest.json and commits. Returns the manifest's sha256.
  std::string finish(nlohmann::json manifest_fields);

 private:
  struct Output;
  std::filesystem::path dir_;
  std::filesystem::path partial_;
  std::uint32_t vocab_size_;
  std::optional<std::uint32_t> eot_token_;
  std::unique_ptr<Output> train_;
  std::unique_ptr<Output> val_;
  bool finished_ = false;
};

/// The text of manifest.json for a manifest (pretty, sorted keys, trailing newline): the bytes
/// whose sha256 is the corpus's provenance.
std::string manifest_text(const nlohmann::json& manifest);

/// A corpus spec to a folder: "NAME" → corpora_dir()/NAME (an error naming
/// `rebench prepare corpus NAME` when it is not prepared); "openwebtext:PATH" → a nanoGPT
/// folder (train.bin + val.bin; manifest.json optional); "dir:PATH" → any corpus folder.
std::filesystem::path resolve_corpus(const std::string& spec);

}  // namespace rebench::lm
