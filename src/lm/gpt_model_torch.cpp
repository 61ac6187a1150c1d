// The nanoGPT architecture in libtorch (see gpt_model_torch.hpp).
#include "lm/gpt_model_torch.hpp"

#include <cmath>

#include <cstdlib>
#include <string>
#include <tuple>

#include <torch/version.h>

#include "lm/autocast_torch.hpp"
#include "lm/fused_cross_entropy_torch.hpp"
#include "lm/fused_layer_norm_torch.hpp"

namespace rebench::lm {
namespace F = torch::nn::functional;

namespace {
#if TORCH_VERSION_MAJOR >= 2
constexpr bool kFusedAttention = true;
#else
constexpr bool kFusedAttention = false;
#endif

torch::nn::LayerNorm layer_norm(std::int64_t width) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({width}).eps(1e-5));
}

/// `norm(x)`; with `fused` set, under CUDA autocast and where the kernel applies, the fused
/// LayerNorm writes the result straight in autocast's dtype: the next layer is a matmul that
/// would cast the float32 output to that dtype anyway (one float32 write and one cast less).
torch::Tensor apply_layer_norm(torch::nn::LayerNorm& norm, const torch::Tensor& x, bool fused) {
  if (fused && x.scalar_type() == torch::kFloat32) {
    const auto dtype = cuda_autocast_dtype();
    if (dtype && fused_layer_norm_supported(x, norm->weight, norm->bias))
      return fused_layer_norm(x, norm->weight, norm->bias, norm->options.eps(), *dtype);
  }
  return norm(x);
}

/// The blocks and ln_f with every residual add fused into the LayerNorm that reads its result
/// (fused_add_layer_norm: the float32 sum is written once and the normalised copy in `dtype`
/// next to it, and in the backward the LayerNorm's dx and the residual gradient are added in
/// the same pass). The same arithmetic as Block::forward + ln_f.
torch::Tensor fused_residual_stream(TransformerImpl& transformer, torch::Tensor x,
                                    torch::ScalarType dtype) {
  auto& blocks = *transformer.h;
  const auto& first_norm = blocks[0]->as<Block>()->ln_1;
  torch::Tensor normed =
      fused_layer_norm(x, first_norm->weight, first_norm->bias, first_norm->options.eps(), dtype);
  for (std::size_t i = 0; i < blocks.size(); ++i) {
    auto* block = blocks[i]->as<Block>();
    std::tie(x, normed) =
        fused_add_layer_norm(x, block->attn(normed), block->ln_2->weight, block->ln_2->bias,
                             block->ln_2->options.eps(), dtype);
    const auto& next_norm =
        i + 1 < blocks.size() ? blocks[i + 1]->as<Block>()->ln_1 : transformer.ln_f;
    std::tie(x, normed) = fused_add_layer_norm(x, block->mlp(normed), next_norm->weight,
                                               next_norm->bias, next_norm->options.eps(), dtype);
  }
  return normed;
}

bool env_switch_on(const char* name) {
  const char* setting = std::getenv(name);
  return setting == nullptr || std::string(setting) != "0";
}

/// Plain causal attention, used where the fused kernel does not exist (libtorch 1.13) and as
/// the reference the fused path is tested against.
torch::Tensor plain_causal_attention(const torch::Tensor& q, const torch::Tensor& k,
                                     const torch::Tensor& v, double dropout, bool training) {
  const auto t = q.size(-2);
  auto att =
      torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(q.size(-1))));
  auto mask =
      torch::ones({t, t}, torch::TensorOptions().dtype(torch::kBool).device(q.device())).tril();
  att = att.masked_fill(mask.logical_not(), -std::numeric_limits<float>::infinity());
  att = torch::softmax(att.to(torch::kFloat32), -1).to(q.scalar_type());
  if (dropout > 0.0) att = F::dropout(att, F::DropoutFuncOptions().p(dropout).training(training));
  return torch::matmul(att, v);
}
}  // namespace

bool has_fused_attention() { return kFusedAttention; }

CausalSelfAttentionImpl::CausalSelfAttentionImpl(const GptConfig& config)
    : n_head_(config.n_head), dropout_(config.dropout) {
  c_attn = register_module("c_attn", torch::nn::Linear(config.n_embd, 3 * config.n_embd));
  c_proj = register_module("c_proj", torch::nn::Linear(config.n_embd, config.n_embd));
}

torch::Tensor CausalSelfAttentionImpl::forward(const torch::Tensor& x) {
  const auto b = x.size(0), t = x.size(1), c = x.size(2);
  auto qkv = c_attn(x).split(c, 2);
  auto heads = [&](const torch::Tensor& y) {
    return y.view({b, t, n_head_, c / n_head_}).transpose(1, 2);
  };
  auto q = heads(qkv[0]), k = heads(qkv[1]), v = heads(qkv[2]);
  torch::Tensor y;
#if TORCH_VERSION_MAJOR >= 2
  y = at::scaled_dot_product_attention(q, k, v, /*attn_mask=*/{},
                                       /*dropout_p=*/is_training() ? dropout_ : 0.0,
                                       /*is_causal=*/true);
#else
  y = plain_causal_attention(q, k, v, dropout_, is_training());
#endif
  y = y.transpose(1, 2).contiguous().view({b, t, c});
  y = c_proj(y);
  if (dropout_ > 0.0)
    y = F::dropout(y, F::DropoutFuncOptions().p(dropout_).training(is_training()));
  return y;
}

MlpImpl::MlpImpl(const GptConfig& config) : dropout_(config.dropout) {
  c_fc = register_module("c_fc", torch::nn::Linear(config.n_embd, 4 * config.n_embd));
  c_proj = register_module("c_proj", torch::nn::Linear(4 * config.n_embd, config.n_embd));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  auto y = c_proj(torch::gelu(c_fc(x)));
  if (dropout_ > 0.0)
    y = F::dropout(y, F::DropoutFuncOptions().p(dropout_).training(is_training()));
  return y;
}

BlockImpl::BlockImpl(const GptConfig& config) {
  ln_1 = register_module("ln_1", layer_norm(config.n_embd));
  attn = register_module("attn", CausalSelfAttention(config));
  ln_2 = register_module("ln_2", layer_norm(config.n_embd));
  mlp = register_module("mlp", Mlp(config));
}

torch::Tensor BlockImpl::forward(torch::Tensor x) {
  x = x + attn(apply_layer_norm(ln_1, x, fused_layer_norm));
  return x + mlp(apply_layer_norm(ln_2, x, fused_layer_norm));
}

TransformerImpl::TransformerImpl(const GptConfig& config) {
  wte = register_module("wte", torch::nn::Embedding(config.vocab_size, config.n_embd));
  wpe = register_module("wpe", torch::nn::Embedding(config.block_size, config.n_embd));
  h = register_module("h", torch::nn::ModuleList());
  for (std::int64_t layer = 0; layer < config.n_layer; ++layer) h->push_back(Block(config));
  ln_f = register_module("ln_f", layer_norm(config.n_embd));
}

GptImpl::GptImpl(const GptConfig& config) : config_(config) {
  config_.validate();
  transformer = register_module("transformer", Transformer(config_));
  initialise();
  set_fused_layer_norm(env_switch_on("REBENCH_LM_FUSED_LN"));
}

void GptImpl::set_fused_layer_norm(bool enabled) {
  fused_layer_norm_ = enabled;
  for (const auto& block : *transformer->h) block->as<Block>()->fused_layer_norm = enabled;
}

void GptImpl::initialise() {
  // nanoGPT: N(0, 0.02) for linear and embedding weights, zero biases, and the residual
  // projections scaled by 1/sqrt(2 n_layer) (GPT-2 paper).
  torch::NoGradGuard no_grad;
  const double residual_std = 0.02 / std::sqrt(2.0 * static_cast<double>(config_.n_layer));
  for (auto& item : named_parameters()) {
    const std::string& name = item.key();
    torch::Tensor& p = item.value();
    const bool is_weight = name.size() >= 7 && name.compare(name.size() - 7, 7, ".weight") == 0;
    const bool is_layer_norm = name.find(".ln_") != std::string::npos;
    if (is_layer_norm) {
      p.fill_(is_weight ? 1.0 : 0.0);
    } else if (!is_weight) {
      p.zero_();
    } else if (name.find("c_proj.weight") != std::string::npos) {
      p.normal_(0.0, residual_std);
    } else {
      p.normal_(0.0, 0.02);
    }
  }
}

torch::Tensor GptImpl::hidden_states(const torch::Tensor& idx) {
  TORCH_CHECK(idx.dim() == 2, "GPT input must be [batch, time] token ids");
  const auto t = idx.size(1);
  TORCH_CHECK(t <= config_.block_size, "sequence of ", t, " tokens exceeds block_size ",
              config_.block_size);
  auto pos = torch::arange(t, torch::TensorOptions().dtype(torch::kLong).device(idx.device()));
  auto x = transformer->wte(idx) + transformer->wpe(pos);
  if (config_.dropout > 0.0) {
    x = F::dropout(x, F::DropoutFuncOptions().p(config_.dropout).training(is_training()));
  }
  if (fused_layer_norm_ && !transformer->h->is_empty() && x.scalar_type() == torch::kFloat32) {
    const auto& norm = (*transformer->h)[0]->as<Block>()->ln_1;
    const auto dtype = cuda_autocast_dtype();
    if (dtype && fused_layer_norm_supported(x, norm->weight, norm->bias))
      return fused_residual_stream(*transformer, x, *dtype);
  }
  for (const auto& block : *transformer->h) x = block->as<Block>()->forward(x);
  return apply_layer_norm(transformer->ln_f, x, fused_layer_norm_);
}

torch::Tensor GptImpl::forward(const torch::Tensor& idx) {
  // Tied output layer: logits against the token embedding matrix.
  return F::linear(hidden_states(idx), transformer->wte->weight);
}

bool GptImpl::fused_cross_entropy_by_default() { return env_switch_on("REBENCH_LM_FUSED_CE"); }

torch::Tensor GptImpl::loss(const torch::Tensor& idx, const torch::Tensor& targets) {
  auto logits = forward(idx);
  auto rows = logits.view({-1, logits.size(-1)});
  if (fused_cross_entropy_ && fused_cross_entropy_supported(rows)) {
    // The logits are this function's own: nothing reads them after the backward, so their
    // storage takes the gradient (no second logits-sized buffer).
    CrossEntropyOptions options;
    options.grad_into_logits = true;
    return lm::fused_cross_entropy(rows, targets.reshape({-1}), options);
  }
  return reference_cross_entropy(rows, targets);
}

std::vector<std::pair<std::string, torch::Tensor>> GptImpl::named_tensors() const {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& item : named_parameters()) out.emplace_back(item.key(), item.value());
  return out;
}

}  // namespace rebench::lm
