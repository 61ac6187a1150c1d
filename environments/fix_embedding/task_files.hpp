// The files one fix_embedding workspace is made of, torch-free: the secret permutation (from a
// CSPRNG seed), the corrupted checkpoint, the held-out evaluation windows and the task record
// in private/.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "lm/gpt_config.hpp"
#include "lm/token_corpus.hpp"
#include "rebench/json_file.hpp"

namespace rebench::fix_embedding {

/// 32 bytes from the kernel's CSPRNG, as 64 hex digits.
std::string new_permutation_seed();

/// The permutation of [0, n) a seed stands for: Fisher–Yates driven by SHA-256(seed, counter),
/// so knowing some of its entries does not reveal the seed or the rest (a non-cryptographic
/// generator could be inverted from a few recovered rows).
std::vector<std::int64_t> permutation_from_seed(const std::string& seed_hex, std::int64_t n);

/// Writes `clean` with the rows of transformer.wte.weight permuted, corrupted[i] =
/// clean[permutation[i]], every other tensor and the metadata unchanged. Throws when the
/// embedding is missing, not a 2-D F32 matrix, or the permutation has the wrong length.
void write_corrupted_model(const std::filesystem::path& clean, const std::filesystem::path& out,
                           const std::vector<std::int64_t>& permutation);

/// Held-out evaluation windows: `windows` runs of `length` + 1 tokens, stored back to back.
struct HeldoutSet {
  std::int64_t windows = 0;
  std::int64_t length = 0;  ///< tokens per input (the model's block_size)
  std::vector<std::uint16_t> tokens;
  [[nodiscard]] lm::TokenSpan span() const { return {tokens.data(), tokens.size()}; }
  /// Start of each window in span().
  [[nodiscard]] std::vector<std::uint64_t> offsets() const;
};

/// The fixed held-out set of a profile: `windows` evenly spaced, disjoint windows of the
/// corpus's val split (lm::evaluation_window_offsets). Error when the split is too short.
HeldoutSet select_heldout(const lm::TokenCorpus& corpus, std::int64_t windows, std::int64_t length);
/// sha256 of the held-out tokens (as stored): identifies the set in provenance and caches.
std::string heldout_sha256(const HeldoutSet& heldout);

void write_heldout(const std::filesystem::path& file, const HeldoutSet& heldout);
/// Reads a held-out file written by write_heldout; checks its size against windows × (length+1).
HeldoutSet read_heldout(const std::filesystem::path& file, std::int64_t windows,
                        std::int64_t length);

/// private/task.json: what the scorer needs besides the held-out tokens, and provenance.
struct TaskRecord {
  lm::GptConfig config;        ///< the architecture a submission must have
  std::int64_t windows = 0;    ///< held-out windows
  std::string heldout_sha256;  ///< of private/heldout.bin's tokens
  std::string permutation_seed;
  double clean_loss = 0.0;  ///< the uncorrupted large model on the held-out windows
  Json provenance;          ///< base models, corpus, profile
  [[nodiscard]] Json to_json() const;
  static TaskRecord from_json(const Json& json, const std::string& file);
};

inline constexpr const char* kTaskFile = "task.json";
inline constexpr const char* kHeldoutFile = "heldout.bin";
/// The file a solution must contain.
inline constexpr const char* kSubmissionFile = "fixed_model.safetensors";

/// Copies bytes (never a hard link: the agent could write through one into the cache).
void copy_bytes(const std::filesystem::path& from, const std::filesystem::path& to);

}  // namespace rebench::fix_embedding
