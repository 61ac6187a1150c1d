// Byte-level BPE: a vocabulary of byte strings, a merge-rank table, and the merge loop with a
// per-thread cache of already encoded words (words repeat a lot in text).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rebench::lm {

/// An immutable BPE model over raw bytes. Thread-safe: encode_word may run on many threads.
class BpeModel {
 public:
  /// `tokens[id]` = the raw bytes of token id; `merges` = pairs of raw byte strings in rank
  /// order (rank 0 merges first). Every single byte must be a token, and every merge's parts and
  /// result must be tokens; throws rebench::Error naming the offending merge otherwise.
  BpeModel(std::vector<std::string> tokens,
           const std::vector<std::pair<std::string, std::string>>& merges);

  /// Appends the token ids of one pre-token (a "word", raw bytes) to `out`.
  void encode_word(std::string_view word, std::vector<std::uint32_t>& out) const;
  /// The raw bytes of a token id (empty view for an id out of range).
  [[nodiscard]] std::string_view token_bytes(std::uint32_t id) const {
    return id < tokens_.size() ? std::string_view(tokens_[id]) : std::string_view();
  }
  /// The id of a raw byte string, or -1.
  [[nodiscard]] std::int64_t find(std::string_view bytes) const;
  [[nodiscard]] std::size_t size() const { return tokens_.size(); }
  [[nodiscard]] std::size_t merge_count() const { return merge_count_; }

 private:
  struct Merge {
    std::uint32_t rank;
    std::uint32_t result;
  };
  static std::uint64_t pair_key(std::uint32_t a, std::uint32_t b) {
    return (static_cast<std::uint64_t>(a) << 32) | b;
  }
  void merge_loop(std::vector<std::uint32_t>& symbols) const;

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, std::uint32_t> ids_;
  std::unordered_map<std::uint64_t, Merge> merges_;
  std::uint32_t byte_ids_[256] = {};
  std::size_t merge_count_ = 0;
  std::uint64_t instance_ = 0;  ///< identifies this model to the per-thread caches
};

}  // namespace rebench::lm
