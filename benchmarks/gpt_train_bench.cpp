// Prints GPT training throughput (tokens/s) and MFU for a model size: by default GPT-2 124M
// (block 1024, bf16 autocast, fused attention and AdamW where available) on the GPU, a tiny
// model on the CPU. Data are random tokens: throughput does not depend on their content.
// Where the fused kernels exist, one run trains with them and with the previous float32 paths
// (an A/B on the same model and batches; the figures printed first, and the final MFU line, are
// the fused path's), then breaks a micro-batch down (forward, backward, the loss alone, one
// LayerNorm alone), and compares the training step with libtorch's clip_grad_norm_ (a host sync
// every step) against the trainer's device-side clipping.
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
#include "lm/fused_layer_norm_torch.hpp"
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
  std::string variants = "all";
  app.add_option("--size", size, "gpt2 (124M, block 1024) | tiny");
  app.add_option("--steps", steps, "Timed optimizer steps");
  app.add_option("--warmup", warmup, "Untimed steps first");
  app.add_option("--micro-batch", micro,
                 "Sequences per micro-batch (default: 64 gpt2, which fits an 80 GB H100; 8 tiny)");
  app.add_option("--grad-accum", accum, "Micro-batches per step");
  app.add_option("--vocab", vocab, "Vocabulary size (50304 = GPT-2's padded to 64)");
  app.add_option("--peak-tflops", peak_tflops, "Device peak for MFU [TFLOP/s]");
  app.add_option("--variants", variants,
                 "What to train, timed: fused (the fused cross-entropy and LayerNorm kernels), "
                 "fused-ce (the cross-entropy kernel only), reference (float32 loss and "
                 "LayerNorm, as before the kernels), all (the three, an A/B/C in one run)")
      ->check(CLI::IsMember({"fused", "fused-ce", "reference", "all"}));
  app.add_option("--ab-rounds", rounds,
                 "With --variants all: timed runs per variant, interleaved (fused, fused-ce, "
                 "reference, fused, …); the figures are over all of a variant's runs")
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
  if (micro == 0) micro = size == "tiny" ? 8 : 64;
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

  // The variants to time, the first one printed as this benchmark's headline figures.
  struct Variant {
    std::string name;
    bool fused_cross_entropy;
    bool fused_layer_norm;
  };
  const bool fused_available = device.is_cuda() && fused_cross_entropy_compiled();
  std::vector<Variant> paths;
  if (fused_available) {
    if (variants == "fused" || variants == "all") paths.push_back({"fused", true, true});
    if (variants == "fused-ce" || variants == "all") paths.push_back({"fused-ce", true, false});
  }
  if (variants == "reference" || variants == "all" || !fused_available)
    paths.push_back({"reference", false, false});
  if (variants != "all") rounds = 1;
  const auto use = [](Gpt& m, const Variant& v) {
    m->set_fused_cross_entropy(v.fused_cross_entropy);
    m->set_fused_layer_norm(v.fused_layer_norm);
  };

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
    use(model, paths[i]);
    train.steps = warmup;
    if (warmup > 0) train_model(model, stream, stream, train, options);
  }
  for (std::int64_t round = 0; round < rounds; ++round) {
    for (std::size_t i = 0; i < paths.size(); ++i) {
      use(model, paths[i]);
      train.steps = steps;
      auto result = train_model(model, stream, stream, train, options);
      // The result's time includes one final evaluation of 4 windows: negligible at these sizes.
      measured[i].seconds += result.seconds;
      measured[i].tokens += result.tokens;
      measured[i].steps += result.steps;
      fused_optimizer = result.fused_optimizer;
    }
  }
  use(model, paths.front());
  const Throughput& headline = measured.front();

  fmt::print(
      "model: {} ({:.1f}M parameters, block {}), device {}, fused attention {}, fused AdamW {}\n",
      size, config.parameter_count() / 1e6, config.block_size, device.str(),
      has_fused_attention() ? "yes" : "no", fused_optimizer ? "yes" : "no");
  fmt::print("batch: {} x {} x {} = {} tokens/step, {} steps timed\n", micro, accum,
             config.block_size, train.tokens_per_step(config.block_size), steps);
  fmt::print("tokens/s: {:.0f}\n", headline.tokens_per_s());
  fmt::print("step time: {:.1f} ms\n", headline.step_ms());
  const Variant& first = paths.front();
  fmt::print("cross-entropy: {}\n",
             first.fused_cross_entropy
                 ? "fused CUDA cross-entropy on the logits' dtype (bf16 under autocast)"
             : fused_available
                 ? "float32 reference (logits.to(float32) + F::cross_entropy), as asked"
                 : "float32 reference (no fused kernel in this build or not on CUDA)");
  fmt::print("LayerNorm: {}\n",
             first.fused_layer_norm && fused_layer_norm_compiled()
                 ? "fused CUDA kernels (residual add + LayerNorm), bf16 out"
                 : "at::layer_norm in float32 (cast to bf16 by the next matmul under autocast)");
  if (paths.size() > 1) {
    fmt::print("A/B ({} timed run(s) of {} steps per variant, interleaved):\n", rounds, steps);
    for (std::size_t i = 0; i < paths.size(); ++i) {
      const double tps = measured[i].tokens_per_s();
      std::string line = fmt::format("  {:<9}: {:.0f} tokens/s, {:.1f} ms/step", paths[i].name, tps,
                                     measured[i].step_ms());
      if (options.peak_flops > 0)
        line += fmt::format(", MFU {:.1f}%", 100.0 * tps * flops_per_token / options.peak_flops);
      if (i > 0)
        line += fmt::format(" ({} / {}: {:.3f}x)", paths[0].name, paths[i].name,
                            measured[0].tokens_per_s() / tps);
      fmt::print("{}\n", line);
    }
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
    // Each variant timed above, the headline's first.
    for (const Variant& variant : paths) {
      use(model, variant);
      const std::string suffix = paths.size() > 1 ? " [" + variant.name + "]" : "";
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
    use(model, paths.front());
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
      // Gradients through autograd::grad: backward() would add each new gradient into
      // logits.grad, a further pass over the logits that no training step makes.
      if (fused_available) {
        const double ms = time_ms(
            [&] { torch::autograd::grad({fused_cross_entropy(logits, targets)}, {logits}); });
        const double gb = 3.0 * static_cast<double>(rows * config.vocab_size) * 2 / 1e9;
        line += fmt::format(" fused {:.2f} ms ({:.0f} GB/s of logits read, read, written),", ms,
                            gb / (ms / 1e3));
      }
      const double ms = time_ms(
          [&] { torch::autograd::grad({reference_cross_entropy(logits, targets)}, {logits}); });
      line += fmt::format(" float32 reference {:.2f} ms", ms);
      fmt::print("{}\n", line);
    }

    // One LayerNorm of this micro-batch's activations (float32 in, bf16 out): the fused kernel
    // against at::layer_norm + the cast autocast's matmul would make. Gradients through
    // autograd::grad (accumulating into x.grad would add a float32 pass to both).
    {
      const std::int64_t rows = micro * config.block_size, width = config.n_embd;
      const auto on_device = torch::TensorOptions().device(device);
      auto xs = torch::randn({rows, width}, on_device).set_requires_grad(true);
      auto weight = (1 + 0.2 * torch::randn({width}, on_device)).set_requires_grad(true);
      auto bias = (0.1 * torch::randn({width}, on_device)).set_requires_grad(true);
      const auto dy = torch::randn({rows, width}, on_device).to(torch::kBFloat16);
      auto norm_ms = [&](bool fused, bool backward) {
        return time_ms(
            [&] {
              torch::Tensor out =
                  fused ? fused_layer_norm(xs, weight, bias, 1e-5, torch::kBFloat16)
                        : at::layer_norm(xs, {width}, weight, bias, 1e-5).to(torch::kBFloat16);
              if (backward) torch::autograd::grad({out}, {xs, weight, bias}, {dy});
            },
            20);
      };
      double forward_ms[2], total_ms[2];
      for (int fused = 0; fused < 2; ++fused) {
        {
          torch::NoGradGuard no_grad;
          forward_ms[fused] = norm_ms(fused == 1, false);
        }
        total_ms[fused] = norm_ms(fused == 1, true);
      }
      const double elements = static_cast<double>(rows * width);
      // Forward: read x (4 B), write y (2 B); backward: read x and dy, write dx (4 + 2 + 4 B).
      fmt::print(
          "LayerNorm ({} x {}, bf16 out): forward fused {:.3f} ms ({:.0f} GB/s) vs layer_norm + "
          "cast {:.3f} ms; forward + backward fused {:.3f} ms (backward {:.0f} GB/s) vs {:.3f} "
          "ms{}\n",
          rows, width, forward_ms[1], elements * 6 / 1e9 / (forward_ms[1] / 1e3), forward_ms[0],
          total_ms[1], elements * 10 / 1e9 / ((total_ms[1] - forward_ms[1]) / 1e3), total_ms[0],
          fused_layer_norm_compiled() ? "" : " (no kernel in this build: both are layer_norm)");
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
