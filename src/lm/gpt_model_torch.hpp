// The GPT of nanoGPT in libtorch: learned positions, pre-LayerNorm blocks, GELU MLP, causal
// self-attention, input and output embeddings tied. Parameter names are nanoGPT's
// ("transformer.h.0.attn.c_attn.weight", …), so nanoGPT and GPT-2 checkpoints map onto it.
#pragma once

#include <torch/torch.h>

#include "lm/gpt_config.hpp"

namespace rebench::lm {

class CausalSelfAttentionImpl : public torch::nn::Module {
 public:
  explicit CausalSelfAttentionImpl(const GptConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear c_attn{nullptr};  ///< q, k, v projections in one matrix
  torch::nn::Linear c_proj{nullptr};

 private:
  std::int64_t n_head_;
  double dropout_;
};
TORCH_MODULE(CausalSelfAttention);

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const GptConfig& config);
  torch::Tensor forward(const torch::Tensor& x);

  torch::nn::Linear c_fc{nullptr};
  torch::nn::Linear c_proj{nullptr};

 private:
  double dropout_;
};
TORCH_MODULE(Mlp);

class BlockImpl : public torch::nn::Module {
 public:
  explicit BlockImpl(const GptConfig& config);
  torch::Tensor forward(torch::Tensor x);

  torch::nn::LayerNorm ln_1{nullptr};
  CausalSelfAttention attn{nullptr};
  torch::nn::LayerNorm ln_2{nullptr};
  Mlp mlp{nullptr};
  /// Set by GptImpl::set_fused_layer_norm.
  bool fused_layer_norm = true;
};
TORCH_MODULE(Block);

/// nanoGPT's `transformer` ModuleDict: embeddings, blocks, final LayerNorm.
class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const GptConfig& config);

  torch::nn::Embedding wte{nullptr};
  torch::nn::Embedding wpe{nullptr};
  torch::nn::ModuleList h{nullptr};
  torch::nn::LayerNorm ln_f{nullptr};
};
TORCH_MODULE(Transformer);

class GptImpl : public torch::nn::Module {
 public:
  /// Builds the model with nanoGPT's initialisation drawn from torch's global generator (seed it
  /// with torch::manual_seed for a deterministic model).
  explicit GptImpl(const GptConfig& config);

  /// Logits [B, T, vocab] for token ids `idx` [B, T] (T ≤ block_size).
  torch::Tensor forward(const torch::Tensor& idx);
  /// Mean next-token cross-entropy of `forward(idx)` against `targets` [B, T], in float32. On
  /// CUDA (kernel compiled in) the fused cross-entropy reads the logits in their own dtype (bf16
  /// under autocast) and writes their gradient into their storage; elsewhere, or with
  /// set_fused_cross_entropy(false), F::cross_entropy on a float32 copy of the logits.
  torch::Tensor loss(const torch::Tensor& idx, const torch::Tensor& targets);
  /// Final hidden states [B, T, n_embd] (before the tied output projection): float32, or
  /// autocast's dtype under CUDA autocast with the fused LayerNorm.
  torch::Tensor hidden_states(const torch::Tensor& idx);

  [[nodiscard]] const GptConfig& config() const { return config_; }
  /// Whether loss() may use the fused cross-entropy kernel (default on unless the environment
  /// sets REBENCH_LM_FUSED_CE=0; off gives the previous float32 path, for A/B comparisons). Changes
  /// speed and memory, not the result beyond float32 rounding.
  void set_fused_cross_entropy(bool enabled) { fused_cross_entropy_ = enabled; }
  [[nodiscard]] bool fused_cross_entropy() const { return fused_cross_entropy_; }
  /// Whether the LayerNorms may use the fused kernels under CUDA autocast: float32 in, the
  /// result written in autocast's dtype (what the next matmul reads) instead of a float32
  /// output plus a cast, and each residual add done by the LayerNorm that reads its sum
  /// (fused_add_layer_norm). Default on unless the environment sets REBENCH_LM_FUSED_LN=0.
  /// Changes speed, not the result beyond float32 rounding.
  void set_fused_layer_norm(bool enabled);
  [[nodiscard]] bool fused_layer_norm() const { return fused_layer_norm_; }
  /// Parameters by nanoGPT name (the tied output layer has no entry of its own).
  [[nodiscard]] std::vector<std::pair<std::string, torch::Tensor>> named_tensors() const;

  Transformer transformer{nullptr};

 private:
  void initialise();
  GptConfig config_;
  bool fused_cross_entropy_ = fused_cross_entropy_by_default();
  static bool fused_cross_entropy_by_default();
  bool fused_layer_norm_ = true;  // the constructor applies REBENCH_LM_FUSED_LN
};
TORCH_MODULE(Gpt);

/// True when this libtorch has the fused scaled_dot_product_attention (2.x).
bool has_fused_attention();

}  // namespace rebench::lm
