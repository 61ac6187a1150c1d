// Shape of a nanoGPT-style GPT (vocab, context, depth, width) and the arithmetic derived from it.
// Torch-free, so configs, parameter counts and FLOP estimates are usable (and tested) anywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace rebench::lm {

/// nanoGPT's GPTConfig. Linear layers and LayerNorms always have biases (GPT-2 compatible).
struct GptConfig {
  std::int64_t vocab_size = 50257;
  std::int64_t block_size = 1024;  ///< context length [tokens]
  std::int64_t n_layer = 12;
  std::int64_t n_head = 12;
  std::int64_t n_embd = 768;
  double dropout = 0.0;

  /// Throws rebench::Error unless every field is positive and n_embd divides by n_head.
  void validate() const;
  /// Parameters of the model; the tied output layer is counted once. nanoGPT reports the count
  /// without position embeddings (`include_positions = false`).
  [[nodiscard]] std::int64_t parameter_count(bool include_positions = true) const;
  /// Training FLOPs per token (forward + backward), as nanoGPT's estimate_mfu and the PaLM
  /// appendix count them: 6 N + 12 L H Q T, N without position embeddings.
  [[nodiscard]] double training_flops_per_token() const;
  /// The named tensors of a checkpoint of this model, in nanoGPT names, with their shapes.
  [[nodiscard]] std::vector<std::pair<std::string, std::vector<std::int64_t>>> tensor_shapes()
      const;

  [[nodiscard]] nlohmann::json to_json() const;
  /// Reads a config object (all fields required except dropout); `file`/`where` name the
  /// source in errors (ConfigError).
  static GptConfig from_json(const nlohmann::json& json, const std::string& file = "<config>",
                             const std::string& where = "");
  bool operator==(const GptConfig& other) const;
  bool operator!=(const GptConfig& other) const { return !(*this == other); }
};

/// The GPT-2 124M configuration (nanoGPT's default), used by the throughput benchmark.
GptConfig gpt2_small_config();

}  // namespace rebench::lm
