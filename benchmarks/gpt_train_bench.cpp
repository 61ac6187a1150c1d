// Prints GPT training throughput (tokens/s) and MFU for a model size: by default GPT-2 124M
// (block 1024, bf16 autocast, fused attention and AdamW where available) on the GPU, a tiny
// model on the CPU. Data are random tokens: throughput does not depend on their content.
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>

#include <fmt/format.h>
#include <torch/torch.h>
#include <CLI/CLI.hpp>

#include "lm/gpt_model_torch.hpp"
#include "lm/trainer_torch.hpp"
#include "lm/training_schedule.hpp"

int main(int argc, char** argv) {
  using namespace rebench::lm;
  CLI::App app{"GPT training throughput"};
  std::string size = torch::cuda::is_available() ? "gpt2" : "tiny";
  std::int64_t steps = 30, warmup = 5, micro = 0, accum = 1;
  double peak_tflops = 989.0;  // H100 SXM dense bf16
  std::int64_t vocab = 50304;
  app.add_option("--size", size, "gpt2 (124M, block 1024) | tiny");
  app.add_option("--steps", steps, "Timed optimizer steps");
  app.add_option("--warmup", warmup, "Untimed steps first");
  app.add_option("--micro-batch", micro, "Sequences per micro-batch (default: 16 gpt2, 8 tiny)");
  app.add_option("--grad-accum", accum, "Micro-batches per step");
  app.add_option("--vocab", vocab, "Vocabulary size (50304 = GPT-2's padded to 64)");
  app.add_option("--peak-tflops", peak_tflops, "Device peak for MFU [TFLOP/s]");
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

  train.steps = warmup;
  train_model(model, stream, stream, train, options);  // warm-up: allocator, kernels, autotuning
  train.steps = steps;
  auto result = train_model(model, stream, stream, train, options);
  // The result's time includes one final evaluation of 4 windows: negligible at these sizes.
  fmt::print(
      "model: {} ({:.1f}M parameters, block {}), device {}, fused attention {}, fused AdamW {}\n",
      size, config.parameter_count() / 1e6, config.block_size, device.str(),
      has_fused_attention() ? "yes" : "no", result.fused_optimizer ? "yes" : "no");
  fmt::print("batch: {} x {} x {} = {} tokens/step, {} steps timed\n", micro, accum,
             config.block_size, train.tokens_per_step(config.block_size), steps);
  fmt::print("tokens/s: {:.0f}\n", result.tokens_per_s);
  fmt::print("step time: {:.1f} ms\n", 1000.0 * result.seconds / static_cast<double>(steps));
  if (device.is_cuda()) {
    // Where the time goes: forward only, forward + backward, and the dtype autocast produced.
    auto [x, y] = gather_windows(
        stream, training_window_offsets(stream.size, config.block_size, micro, 1, 0, 0),
        config.block_size, device);
    auto timed = [&](const char* what, const std::function<void()>& body) {
      body();
      torch::cuda::synchronize();
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < 5; ++i) body();
      torch::cuda::synchronize();
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() /
          5;
      fmt::print("{}: {:.1f} ms per micro-batch\n", what, ms);
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
    timed("forward + loss", [&] {
      Bf16Autocast a(true);
      torch::NoGradGuard g;
      model->loss(x, y);
    });
    timed("forward + backward", [&] {
      torch::Tensor l;
      {
        Bf16Autocast a(true);
        l = model->loss(x, y);
      }
      l.backward();
    });
    timed("hidden states + backward (no output layer)", [&] {
      torch::Tensor l;
      {
        Bf16Autocast a(true);
        l = model->hidden_states(x).to(torch::kFloat32).square().mean();
      }
      l.backward();
    });
  }
  if (result.mfu)
    fmt::print("MFU: {:.1f}% of {:.0f} TFLOP/s (6N + 12LHQT FLOPs/token)\n", *result.mfu * 100,
               peak_tflops);
  return 0;
}
