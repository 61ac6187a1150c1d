// Trainer and evaluator (see trainer_torch.hpp).
#include "lm/trainer_torch.hpp"

#include <chrono>
#include <cmath>

#include <fmt/format.h>
#include <torch/version.h>

#include "lm/adamw_torch.hpp"
#include "rebench/errors.hpp"

namespace rebench::lm {

std::pair<torch::Tensor, torch::Tensor> gather_windows(const TokenSpan& stream,
                                                       const std::vector<std::uint64_t>& offsets,
                                                       std::int64_t length, torch::Device device) {
  const auto n = static_cast<std::int64_t>(offsets.size());
  auto host = torch::empty({n, length + 1}, torch::TensorOptions().dtype(torch::kLong));
  auto* out = host.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < n; ++i) {
    const std::uint64_t start = offsets[static_cast<std::size_t>(i)];
    if (start + static_cast<std::uint64_t>(length) + 1 > stream.size) {
      throw Error(fmt::format("window at {} (+{} tokens) runs past the stream of {} tokens", start,
                              length + 1, stream.size));
    }
    const std::uint16_t* src = stream.data + start;
    for (std::int64_t j = 0; j <= length; ++j) out[i * (length + 1) + j] = src[j];
  }
  if (device.is_cuda()) host = host.pin_memory();
  auto on_device = host.to(device, /*non_blocking=*/true);
  return {on_device.narrow(1, 0, length), on_device.narrow(1, 1, length)};
}

double evaluate_loss(Gpt& model, const TokenSpan& stream, const std::vector<std::uint64_t>& offsets,
                     std::int64_t length, torch::Device device, bool bf16,
                     std::int64_t batch_size) {
  if (offsets.empty()) throw Error("evaluation needs at least one window");
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  double total = 0.0;
  std::int64_t count = 0;
  for (std::size_t begin = 0; begin < offsets.size();
       begin += static_cast<std::size_t>(batch_size)) {
    const std::size_t end = std::min(offsets.size(), begin + static_cast<std::size_t>(batch_size));
    std::vector<std::uint64_t> chunk(offsets.begin() + static_cast<std::ptrdiff_t>(begin),
                                     offsets.begin() + static_cast<std::ptrdiff_t>(end));
    auto [inputs, targets] = gather_windows(stream, chunk, length, device);
    torch::Tensor losses;
    {
      Bf16Autocast autocast(bf16 && device.is_cuda());
      auto logits = model->forward(inputs);
      losses = torch::nn::functional::cross_entropy(
          logits.reshape({-1, logits.size(-1)}).to(torch::kFloat32), targets.reshape({-1}),
          torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum));
    }
    total += losses.to(torch::kDouble).item<double>();
    count += inputs.numel();
  }
  if (was_training) model->train();
  return total / static_cast<double>(count);
}

double evaluate_loss(Gpt& model, const TokenSpan& stream, std::int64_t length, std::int64_t windows,
                     torch::Device device, bool bf16) {
  auto offsets = evaluation_window_offsets(stream.size, length, windows);
  if (offsets.empty()) {
    throw Error(fmt::format("validation data has {} tokens: too few for one window of {}",
                            stream.size, length + 1));
  }
  return evaluate_loss(model, stream, offsets, length, device, bf16);
}

std::string format_progress(const TrainProgress& p) {
  std::string line = fmt::format("step {:>6}/{} | loss {:.4f} | lr {:.2e} | {:.0f} tok/s", p.step,
                                 p.steps, p.loss, p.lr, p.tokens_per_s);
  if (p.mfu) line += fmt::format(" | MFU {:.1f}%", *p.mfu * 100.0);
  if (p.val_loss) line += fmt::format(" | val {:.4f}", *p.val_loss);
  line += fmt::format(" | {:.0f}s", p.elapsed_s);
  return line;
}

namespace {
/// torch::nn::utils::clip_grad_norm_ without its host synchronisation: libtorch's returns the
/// norm as a double, i.e. calls .item() and stalls the CPU until the GPU has finished the step,
/// every step. Same arithmetic (per-tensor 2-norms, their 2-norm, grads scaled by
/// min(1, max_norm / (norm + 1e-6))); on CUDA with libtorch >= 2.1 as two multi-tensor kernels
/// (as torch.nn.utils.clip_grad_norm_ does), elsewhere tensor by tensor exactly as before.
/// Returns the total norm as a device tensor.
torch::Tensor clip_grad_norm_on_device(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return torch::zeros({});
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  const bool foreach = grads.front().is_cuda();
#else
  const bool foreach = false;
#endif
  std::vector<torch::Tensor> norms;
  if (foreach) {
    norms = at::_foreach_norm(grads, 2);
  } else {
    norms.reserve(grads.size());
    for (const auto& g : grads) norms.push_back(g.norm(2));
  }
  auto total = norms.size() == 1 ? norms.front() : torch::stack(norms).norm(2);
  auto coef = torch::clamp_max(max_norm / (total + 1e-6), 1.0);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  if (foreach) {
    at::_foreach_mul_(grads, coef);
    return total;
  }
#endif
  for (auto& g : grads) g.mul_(coef);
  return total;
}

bool is_trainable(const std::string& name, const std::vector<std::string>& prefixes) {
  if (prefixes.empty()) return true;
  for (const auto& prefix : prefixes) {
    if (name.compare(0, prefix.size(), prefix) == 0) return true;
  }
  return false;
}
}  // namespace

TrainResult train_model(Gpt& model, const TokenSpan& train, const TokenSpan& val,
                        const TrainConfig& config, const TrainOptions& options) {
  const GptConfig& shape = model->config();
  const std::int64_t length = config.seq_len > 0 ? config.seq_len : shape.block_size;
  if (length > shape.block_size) {
    throw Error(
        fmt::format("seq_len {} exceeds the model's block_size {}", length, shape.block_size),
        ExitCode::kUsage);
  }
  const bool cuda = options.device.is_cuda();
  const bool bf16 = config.bf16 && cuda;

  auto named = model->named_tensors();
  std::size_t trainable_count = 0;
  for (auto& [name, p] : named) {
    const bool on = is_trainable(name, config.trainable);
    p.set_requires_grad(on);
    trainable_count += on ? 1 : 0;
  }
  if (trainable_count == 0)
    throw Error("no parameter matches the trainable prefixes", ExitCode::kUsage);
  AdamW optimizer(nanogpt_param_groups(named, config.weight_decay), config.beta1, config.beta2);
  auto params = optimizer.all_params();

  TrainResult result;
  result.fused_optimizer = optimizer.fused();
  const std::int64_t step_tokens = config.tokens_per_step(shape.block_size);
  const double flops_per_token = [&] {
    GptConfig at_length = shape;
    at_length.block_size = length;  // attention FLOPs scale with the sequence length trained on
    return at_length.training_flops_per_token();
  }();
  model->train();
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  auto window_start = start;
  std::int64_t window_tokens = 0;

  for (std::int64_t step = 0; step < config.steps; ++step) {
    const double lr = config.lr.at(step);
    torch::Tensor step_loss = torch::zeros({}, torch::TensorOptions().device(options.device));
    for (std::int64_t micro = 0; micro < config.grad_accum; ++micro) {
      auto offsets =
          training_window_offsets(train.size, length, config.micro_batch, config.seed, step, micro);
      auto [inputs, targets] = gather_windows(train, offsets, length, options.device);
      torch::Tensor loss;
      {
        Bf16Autocast autocast(bf16);
        loss = model->loss(inputs, targets) / static_cast<double>(config.grad_accum);
      }
      loss.backward();
      step_loss += loss.detach();
    }
    if (config.grad_clip > 0) clip_grad_norm_on_device(params, config.grad_clip);
    optimizer.step(lr);
    optimizer.zero_grad();
    window_tokens += step_tokens;

    const bool last = step + 1 == config.steps;
    const bool log = (step + 1) % config.log_interval == 0 || last;
    const bool eval = config.eval_interval > 0 && (step + 1) % config.eval_interval == 0 && !last;
    if (log || eval) {
      TrainProgress progress;
      progress.step = step + 1;
      progress.steps = config.steps;
      progress.loss = step_loss.item<double>();  // synchronises: only on logging steps
      progress.lr = lr;
      const auto now = clock::now();
      const double window_s = std::chrono::duration<double>(now - window_start).count();
      progress.tokens_per_s = window_s > 0 ? static_cast<double>(window_tokens) / window_s : 0.0;
      if (options.peak_flops > 0)
        progress.mfu = progress.tokens_per_s * flops_per_token / options.peak_flops;
      if (eval) {
        progress.val_loss =
            evaluate_loss(model, val, length, config.eval_windows, options.device, bf16);
        result.val_history.emplace_back(step + 1, *progress.val_loss);
      }
      progress.elapsed_s = std::chrono::duration<double>(clock::now() - start).count();
      result.final_train_loss = progress.loss;
      if (!std::isfinite(progress.loss)) {
        throw Error(fmt::format("training diverged: loss {} at step {}", progress.loss, step + 1));
      }
      if (options.on_progress) options.on_progress(progress);
      window_start = clock::now();  // evaluation time is not counted as training throughput
      window_tokens = 0;
    }
  }
  if (cuda) torch::cuda::synchronize();
  result.steps = config.steps;
  result.tokens = step_tokens * config.steps;
  result.seconds = std::chrono::duration<double>(clock::now() - start).count();
  result.val_loss = evaluate_loss(model, val, length, config.eval_windows, options.device, bf16);
  result.val_history.emplace_back(config.steps, result.val_loss);
  result.tokens_per_s =
      result.seconds > 0 ? static_cast<double>(result.tokens) / result.seconds : 0;
  if (options.peak_flops > 0)
    result.mfu = result.tokens_per_s * flops_per_token / options.peak_flops;
  for (auto& [name, p] : named) p.set_requires_grad(true);
  return result;
}

}  // namespace rebench::lm
