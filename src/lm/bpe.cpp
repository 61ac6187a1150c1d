// Byte-level BPE merge loop (GPT-2's algorithm: repeatedly merge every occurrence of the
// lowest-ranked adjacent pair) with a bounded per-thread cache of encoded words.
#include "lm/bpe.hpp"

#include <atomic>
#include <limits>

#include "rebench/errors.hpp"

namespace rebench::lm {

namespace {

std::atomic<std::uint64_t> next_instance{1};

/// Words already encoded by one thread for one model; cleared when it grows too large so memory
/// stays bounded on long, diverse inputs.
struct WordCache {
  std::uint64_t instance = 0;
  std::unordered_map<std::string, std::vector<std::uint32_t>> words;
};
constexpr std::size_t kMaxCachedWords = 1 << 18;
constexpr std::size_t kMaxCachedWordBytes = 64;  // long words are rare; do not let them evict

}  // namespace

BpeModel::BpeModel(std::vector<std::string> tokens,
                   const std::vector<std::pair<std::string, std::string>>& merges)
    : tokens_(std::move(tokens)), instance_(next_instance++) {
  ids_.reserve(tokens_.size() * 2);
  for (std::size_t id = 0; id < tokens_.size(); ++id) {
    if (!ids_.emplace(tokens_[id], static_cast<std::uint32_t>(id)).second)
      throw Error("BPE vocabulary: token " + std::to_string(id) + " duplicates another token");
  }
  for (int b = 0; b < 256; ++b) {
    auto it = ids_.find(std::string(1, static_cast<char>(b)));
    if (it == ids_.end())
      throw Error("BPE vocabulary: byte " + std::to_string(b) + " has no token");
    byte_ids_[b] = it->second;
  }
  merges_.reserve(merges.size() * 2);
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const auto& [first, second] = merges[rank];
    auto a = ids_.find(first);
    auto b = ids_.find(second);
    auto merged = ids_.find(first + second);
    if (a == ids_.end() || b == ids_.end() || merged == ids_.end())
      throw Error("BPE merges: merge " + std::to_string(rank + 1) +
                  " names a token missing from the vocabulary");
    // A pair listed twice keeps its first (lowest) rank; GPT-2's file lists none twice.
    merges_.emplace(pair_key(a->second, b->second),
                    Merge{static_cast<std::uint32_t>(rank), merged->second});
  }
  merge_count_ = merges.size();
}

std::int64_t BpeModel::find(std::string_view bytes) const {
  auto it = ids_.find(std::string(bytes));
  return it == ids_.end() ? -1 : static_cast<std::int64_t>(it->second);
}

void BpeModel::merge_loop(std::vector<std::uint32_t>& symbols) const {
  constexpr std::uint32_t kNone = std::numeric_limits<std::uint32_t>::max();
  while (symbols.size() > 1) {
    std::uint32_t best_rank = kNone;
    std::uint32_t best_first = 0;
    std::uint32_t best_second = 0;
    std::uint32_t best_result = 0;
    for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
      auto it = merges_.find(pair_key(symbols[i], symbols[i + 1]));
      if (it != merges_.end() && it->second.rank < best_rank) {
        best_rank = it->second.rank;
        best_first = symbols[i];
        best_second = symbols[i + 1];
        best_result = it->second.result;
      }
    }
    if (best_rank == kNone) break;
    // Merge every non-overlapping occurrence, left to right (GPT-2's encoder.py does the same).
    std::size_t out = 0;
    for (std::size_t i = 0; i < symbols.size();) {
      if (i + 1 < symbols.size() && symbols[i] == best_first && symbols[i + 1] == best_second) {
        symbols[out++] = best_result;
        i += 2;
      } else {
        symbols[out++] = symbols[i++];
      }
    }
    symbols.resize(out);
  }
}

void BpeModel::encode_word(std::string_view word, std::vector<std::uint32_t>& out) const {
  if (word.empty()) return;
  if (word.size() == 1) {
    out.push_back(byte_ids_[static_cast<unsigned char>(word[0])]);
    return;
  }
  thread_local WordCache cache;
  if (cache.instance != instance_) {
    cache.words.clear();
    cache.instance = instance_;
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  std::string key;
  if (cacheable) {
    key.assign(word);
    auto hit = cache.words.find(key);
    if (hit != cache.words.end()) {
      out.insert(out.end(), hit->second.begin(), hit->second.end());
      return;
    }
  }
  std::vector<std::uint32_t> symbols;
  symbols.reserve(word.size());
  for (char c : word) symbols.push_back(byte_ids_[static_cast<unsigned char>(c)]);
  merge_loop(symbols);
  out.insert(out.end(), symbols.begin(), symbols.end());
  if (cacheable) {
    if (cache.words.size() >= kMaxCachedWords) cache.words.clear();
    cache.words.emplace(std::move(key), std::move(symbols));
  }
}

}  // namespace rebench::lm
