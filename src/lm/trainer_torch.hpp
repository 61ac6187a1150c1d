// Training and evaluation of a GPT on a token stream: AdamW, warm-up + cosine schedule, gradient
// clipping and accumulation, bf16 autocast on CUDA, deterministic data order, periodic
// evaluation, progress lines (step, loss, tokens/s, MFU when the peak is known).
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include <torch/torch.h>

#include "lm/autocast_torch.hpp"
#include "lm/gpt_model_torch.hpp"
#include "lm/token_corpus.hpp"
#include "lm/train_config.hpp"

namespace rebench::lm {

struct TrainProgress {
  std::int64_t step = 0;  ///< optimizer steps done
  std::int64_t steps = 0;
  double loss = 0.0;  ///< mean training loss of the last step
  double lr = 0.0;
  double tokens_per_s = 0.0;
  std::optional<double> mfu;       ///< model FLOPs utilisation, when peak_flops is known
  std::optional<double> val_loss;  ///< set on evaluation steps
  double elapsed_s = 0.0;
};

struct TrainResult {
  std::int64_t steps = 0;
  std::int64_t tokens = 0;
  double seconds = 0.0;
  double tokens_per_s = 0.0;
  std::optional<double> mfu;
  double final_train_loss = 0.0;
  double val_loss = 0.0;  ///< at the end, on the fixed evaluation windows
  std::vector<std::pair<std::int64_t, double>> val_history;
  bool fused_optimizer = false;
};

struct TrainOptions {
  torch::Device device = torch::kCPU;
  double peak_flops = 0.0;  ///< device peak [FLOP/s] for MFU; 0 = not reported
  std::function<void(const TrainProgress&)> on_progress;  ///< called every log_interval and eval
};

/// Token ids as the model's input: windows of `length` + 1 tokens from `stream` at `offsets`,
/// split into inputs [n, length] and targets [n, length] (int64, on `device`).
std::pair<torch::Tensor, torch::Tensor> gather_windows(const TokenSpan& stream,
                                                       const std::vector<std::uint64_t>& offsets,
                                                       std::int64_t length, torch::Device device);

/// Mean next-token loss [nats/token] of `model` over the windows at `offsets` (each `length` + 1
/// tokens), in eval mode, without gradients, accumulated in double; deterministic for a given
/// device. bf16 autocast on CUDA when `bf16`.
double evaluate_loss(Gpt& model, const TokenSpan& stream, const std::vector<std::uint64_t>& offsets,
                     std::int64_t length, torch::Device device, bool bf16,
                     std::int64_t batch_size = 16);

/// evaluate_loss on the fixed evaluation windows (evaluation_window_offsets) of `stream`.
double evaluate_loss(Gpt& model, const TokenSpan& stream, std::int64_t length, std::int64_t windows,
                     torch::Device device, bool bf16);

/// Trains `model` (already on options.device) on `train`, evaluating on `val`.
TrainResult train_model(Gpt& model, const TokenSpan& train, const TokenSpan& val,
                        const TrainConfig& config, const TrainOptions& options);

/// The progress line printed for `progress` (no newline).
std::string format_progress(const TrainProgress& progress);

}  // namespace rebench::lm
