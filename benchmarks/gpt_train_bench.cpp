// Prints GPT training throughput (tokens/s) and MFU for a model size: by default GPT-2 124M
// (block 1024, bf16 autocast, fused attention and AdamW where available) on the GPU, a tiny
// model on the CPU. Data are random tokens: throughput does not depend on their content.
// Where the fused kernels exist, one run trains with them and with the previous float32 paths
// (an A/B on the same model and batches; the figures printed first, and the final MFU line, are
// the fused path's), then breaks a micro-batch down (forward, backward, the output layer + loss
// three ways), and compares the training step with libtorch's clip_grad_norm_ (a host sync every
// step) against the trainer's device-side clipping.
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>

#include <fmt/format.h>
#include <torch/torch.h>
#include <torch/version.h>
#include <CLI/CLI.hpp>

#include "lm/adamw_torch.hpp"
#include "lm/fused_cross_entropy_torch.hpp"
#include "lm/gpt_model_torch.hpp"
#include "lm/trainer_torch.hpp"
#include "lm/training_schedule.hpp"

namespace {

/// Device-side gradient clipping as the trainer does it (trainer_torch.cpp): same arithmetic as
/// torch::nn::utils::clip_grad_norm_, without its .item() (a host sync) at the end.
void clip_grad_norm_on_device(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  if (grads.empty()) return;
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 1)
  if (grads.front().is_cuda()) {
    auto norms = at::_foreach_norm(grads, 2);
    auto total = norms.size() == 1 ? norms.front() : torch::stack(norms).norm(2);
    at::_foreach_mul_(grads, torch::clamp_max(max_norm / (total + 1e-6), 1.0));
    return;
  }
#endif
  std::vector<torch::Tensor> norms;
  for (const auto& g : grads) norms.push_back(g.norm(2));
  auto total = norms.size() == 1 ? norms.front() : torch::stack(norms).norm(2);
  auto coef = torch::clamp_max(max_norm / (total + 1e-6), 1.0);
  for (auto& g : grads) g.mul_(coef);
}

struct Throughput {
  double seconds = 0.0;
  std::int64_t tokens = 0;
  std::int64_t steps = 0;
  [[nodiscard]] double tokens_per_s() const {
    return seconds > 0 ? static_cast<double>(tokens) / seconds : 0.0;
  }
  [[nodiscard]] double step_ms() const {
    return steps > 0 ? 1000.0 * seconds / static_cast<double>(steps) : 0.0;
  }
};

}  // namespace

int main(int argc, char** argv) {
  using namespace rebench::lm;
  CLI::App app{"GPT training throughput"};
  std::string size = torch::cuda::is_available() ? "gpt2" : "tiny";
  std::int64_t steps = 30, warmup = 5, micro = 0, accum = 1, rounds = 1;
  double peak_tflops = 989.0;  // H100 SXM dense bf16
  std::int64_t vocab = 50304;
  std::string cross_entropy = "both";
  app.add_option("--size", size, "gpt2 (124M, block 1024) | tiny");
  app.add_option("--steps", steps, "Timed optimizer steps");
  app.add_option("--warmup", warmup, "Untimed steps first");
  app.add_option("--micro-batch", micro, "Sequences per micro-batch (default: 16 gpt2, 8 tiny)");
  app.add_option("--grad-accum", accum, "Micro-batches per step");
  app.add_option("--vocab", vocab, "Vocabulary size (50304 = GPT-2's padded to 64)");
  app.add_option("--peak-tflops", peak_tflops, "Device peak for MFU [TFLOP/s]");
  app.add_option("--cross-entropy", cross_entropy,
                 "Loss path of the timed training: fused (CUDA kernel on the bf16 logits), "
                 "reference (float32 copy + F::cross_entropy, as before), both (A/B in one run)")
      ->check(CLI::IsMember({"fused", "reference", "both"}));
  app.add_option("--ab-rounds", rounds,
                 "With --cross-entropy both: timed runs per path, interleaved (fused, reference, "
                 "fused, …); the figures are over all of a path's runs")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);

  GptConfig config = gpt2_small_config();
  // nanoGPT trains GPT-2 with the vocabulary padded to a multiple of 64 (50257 → 50304): with
  // 50257 the output-layer matmuls miss cuBLAS's tensor-core paths. --vocab 50257 shows the cost.
  config.vocab_size = vocab;
  if (size == "tiny") {
    config.block_size = 64;
    config.n_layer = 2;
    config.n_head = 2;
    config.n_embd = 64;
  }
  if (micro == 0) micro = size == "tiny" ? 8 : 16;
  const torch::Device device =
      torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
  if (device.is_cuda()) {
    at::globalContext().setAllowTF32CuBLAS(true);
  }
  std::vector<std::uint16_t> tokens(1 << 22);
  std::mt19937 rng(1);
  for (auto& t : tokens)
    t = static_cast<std::uint16_t>(rng() % static_cast<unsigned>(config.vocab_size));
  TokenSpan stream{tokens.data(), tokens.size()};

  // The loss paths to time, the first one printed as this benchmark's headline figures.
  const bool fused_available = device.is_cuda() && fused_cross_entropy_compiled();
  std::vector<bool> paths;  // true = fused cross-entropy
  if (cross_entropy != "reference" && fused_available) paths.push_back(true);
  if (cross_entropy != "fused" || !fused_available) paths.push_back(false);
  if (cross_entropy != "both") rounds = 1;
  const auto path_name = [](bool fused) { return fused ? "fused" : "reference"; };

  torch::manual_seed(0);
  Gpt model(config);
  model->to(device);
  TrainConfig train;
  train.micro_batch = micro;
  train.grad_accum = accum;
  train.eval_windows = 4;
  train.log_interval = 1'000'000;
  train.lr = LrSchedule{6e-4, 6e-5, 0, warmup + steps};
  TrainOptions options;
  options.device = device;
  options.peak_flops = device.is_cuda() ? peak_tflops * 1e12 : 0.0;
  const double flops_per_token = config.training_flops_per_token();

  std::vector<Throughput> measured(paths.size());
  bool fused_optimizer = false;
  for (std::size_t i = 0; i < paths.size(); ++i) {  // warm-up: allocator, kernels, autotuning
    model->set_fused_cross_entropy(paths[i]);
    train.steps = warmup;
    if (warmup > 0) train_model(model, stream, stream, train, options);
  }
  for (std::int64_t round = 0; round < rounds; ++round) {
    for (std::size_t i = 0; i < paths.size(); ++i) {
      model->set_fused_cross_entropy(paths[i]);
      train.steps = steps;
      auto result = train_model(model, stream, stream, train, options);
      // The result's time includes one final evaluation of 4 windows: negligible at these sizes.
      measured[i].seconds += result.seconds;
      measured[i].tokens += result.tokens;
      measured[i].steps += result.steps;
      fused_optimizer = result.fused_optimizer;
    }
  }
  model->set_fused_cross_entropy(paths.front());
  const Throughput& headline = measured.front();

  fmt::print(
      "model: {} ({:.1f}M parameters, block {}), device {}, fused attention {}, fused AdamW {}\n",
      size, config.parameter_count() / 1e6, config.block_size, device.str(),
      has_fused_attention() ? "yes" : "no", fused_optimizer ? "yes" : "no");
  fmt::print("batch: {} x {} x {} = {} tokens/step, {} steps timed\n", micro, accum,
             config.block_size, train.tokens_per_step(config.block_size), steps);
  fmt::print("tokens/s: {:.0f}\n", headline.tokens_per_s());
  fmt::print("step time: {:.1f} ms\n", headline.step_ms());
  fmt::print("cross-entropy: {}\n",
             paths.front() ? "fused CUDA kernel on the logits' dtype (bf16 under autocast)"
             : fused_available
                 ? "float32 reference (logits.to(float32) + F::cross_entropy), as asked"
                 : "float32 reference (no fused kernel in this build or not on CUDA)");
  if (paths.size() > 1) {
    fmt::print("A/B cross-entropy ({} timed run(s) of {} steps per path, interleaved):\n", rounds,
               steps);
    for (std::size_t i = 0; i < paths.size(); ++i) {
      const double tps = measured[i].tokens_per_s();
      std::string line = fmt::format("  {:<9}: {:.0f} tokens/s, {:.1f} ms/step",
                                     path_name(paths[i]), tps, measured[i].step_ms());
      if (options.peak_flops > 0)
        line += fmt::format(", MFU {:.1f}%", 100.0 * tps * flops_per_token / options.peak_flops);
      fmt::print("{}\n", line);
    }
    fmt::print("  fused / reference tokens/s: {:.3f}x\n",
               measured[0].tokens_per_s() / measured[1].tokens_per_s());
  }
  if (device.is_cuda()) {
    // Where the time goes: forward only, forward + backward, and the dtype autocast produced.
    auto [x, y] = gather_windows(
        stream, training_window_offsets(stream.size, config.block_size, micro, 1, 0, 0),
        config.block_size, device);
    auto time_ms = [&](const std::function<void()>& body, int repeats = 5) {
      body();
      torch::cuda::synchronize();
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < repeats; ++i) body();
      torch::cuda::synchronize();
      return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                 .count() /
             repeats;
    };
    auto timed = [&](const std::string& what, const std::function<void()>& body) {
      fmt::print("{}: {:.1f} ms per micro-batch\n", what, time_ms(body));
    };
    {
      Bf16Autocast autocast(true);
      torch::NoGradGuard no_grad;
      fmt::print("logits dtype under autocast: {}\n",
                 std::string(c10::toString(model->forward(x).scalar_type())));
    }
    timed("forward (no grad)", [&] {
      Bf16Autocast a(true);
      torch::NoGradGuard g;
      model->forward(x);
    });
    // Both loss paths where the kernel exists ("forward + loss" is the model's default path).
    std::vector<bool> loss_paths = {paths.front()};
    if (fused_available) loss_paths = {true, false};
    for (bool fused : loss_paths) {
      model->set_fused_cross_entropy(fused);
      const std::string suffix =
          fused_available && !fused ? ", float32 reference cross-entropy" : "";
      timed("forward + loss" + suffix, [&] {
        Bf16Autocast a(true);
        torch::NoGradGuard g;
        model->loss(x, y);
      });
      timed("forward + backward" + suffix, [&] {
        torch::Tensor l;
        {
          Bf16Autocast a(true);
          l = model->loss(x, y);
        }
        l.backward();
      });
    }
    model->set_fused_cross_entropy(paths.front());
    timed("hidden states + backward (no output layer)", [&] {
      torch::Tensor l;
      {
        Bf16Autocast a(true);
        l = model->hidden_states(x).to(torch::kFloat32).square().mean();
      }
      l.backward();
    });
    for (auto& p : model->parameters()) p.mutable_grad() = torch::Tensor();

    // The loss alone on logits of this micro-batch's shape.
    {
      const std::int64_t rows = micro * config.block_size;
      auto logits =
          (torch::randn({rows, config.vocab_size}, torch::TensorOptions().device(device)) * 3)
              .to(torch::kBFloat16)
              .set_requires_grad(true);
      auto targets = y.reshape({-1});
      std::string line =
          fmt::format("cross-entropy alone ({} x {} bf16 logits, forward + backward):", rows,
                      config.vocab_size);
      if (fused_available) {
        const double ms = time_ms([&] { fused_cross_entropy(logits, targets).backward(); });
        const double gb = 3.0 * static_cast<double>(rows * config.vocab_size) * 2 / 1e9;
        line += fmt::format(" fused {:.2f} ms ({:.0f} GB/s of logits read, read, written),", ms,
                            gb / (ms / 1e3));
      }
      const double ms = time_ms([&] { reference_cross_entropy(logits, targets).backward(); });
      line += fmt::format(" float32 reference {:.2f} ms", ms);
      fmt::print("{}\n", line);
    }

    // The output layer and the loss on hidden states of this micro-batch's shape: the model's
    // single node (the gradient written during the forward's one pass over the logits) against
    // F::linear + the fused cross-entropy (the forward reads the logits, the backward reads
    // them again) and the float32 path.
    if (fused_available) {
      const std::int64_t rows = micro * config.block_size;
      const auto on_device = torch::TensorOptions().device(device);
      auto hidden = torch::randn({rows, config.n_embd}, on_device)
                        .to(torch::kBFloat16)
                        .set_requires_grad(true);
      auto weight = (torch::randn({config.vocab_size, config.n_embd}, on_device) * 0.02)
                        .to(torch::kBFloat16)
                        .set_requires_grad(true);
      auto targets = y.reshape({-1});
      const double node_ms =
          time_ms([&] { linear_cross_entropy_function(hidden, weight, targets).backward(); });
      CrossEntropyOptions in_place;
      in_place.grad_into_logits = true;
      const double two_pass_ms = time_ms([&] {
        fused_cross_entropy(torch::nn::functional::linear(hidden, weight), targets, in_place)
            .backward();
      });
      const double float32_ms = time_ms([&] {
        reference_cross_entropy(torch::nn::functional::linear(hidden, weight), targets).backward();
      });
      fmt::print(
          "output layer + loss ({} x {} -> {} bf16, forward + backward): one node {:.2f} ms, "
          "linear + fused cross-entropy {:.2f} ms, linear + float32 cross-entropy {:.2f} ms\n",
          rows, config.n_embd, config.vocab_size, node_ms, two_pass_ms, float32_ms);
    }

    // One training step (fresh batch, forward + backward, clip, AdamW), wall clock over several
    // steps with a single synchronisation at the end, with each way of clipping.
    {
      AdamW optimizer(nanogpt_param_groups(model->named_tensors(), 0.1), 0.9, 0.95);
      auto params = optimizer.all_params();
      std::int64_t step = 0;
      auto train_step = [&](bool libtorch_clip) {
        auto [xs, ys] = gather_windows(
            stream, training_window_offsets(stream.size, config.block_size, micro, 1, step++, 0),
            config.block_size, device);
        torch::Tensor l;
        {
          Bf16Autocast a(true);
          l = model->loss(xs, ys);
        }
        l.backward();
        if (libtorch_clip) {
          torch::nn::utils::clip_grad_norm_(params, 1.0);  // returns a double: syncs
        } else {
          clip_grad_norm_on_device(params, 1.0);
        }
        optimizer.step(1e-5);
        optimizer.zero_grad();
      };
      for (bool libtorch_clip : {true, false}) {
        const double ms = time_ms([&] { train_step(libtorch_clip); }, 10);
        fmt::print("train step (micro-batch {}, clip + AdamW), {}: {:.1f} ms\n", micro,
                   libtorch_clip ? "libtorch clip_grad_norm_ (host sync every step)"
                                 : "device-side clip (as the trainer now does)",
                   ms);
      }
    }
  }
  if (options.peak_flops > 0)
    fmt::print("MFU: {:.1f}% of {:.0f} TFLOP/s (6N + 12LHQT FLOPs/token)\n",
               100.0 * headline.tokens_per_s() * flops_per_token / options.peak_flops, peak_tflops);
  return 0;
}
